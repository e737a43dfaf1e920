// Typesets the math pymdownx.arithmatex (generic: true) leaves in the page, \( \) inline and
// \[ \] display, with KaTeX's auto-render (katex.min.js and contrib/auto-render.min.js first).
// The whole page, not only .arithmatex elements: a heading's math is also in the tables of
// contents, as plain text. A formula KaTeX cannot parse stays as its TeX source.
(function () {
  "use strict";
  function typeset() {
    renderMathInElement(document.body, {
      delimiters: [
        { left: "\\[", right: "\\]", display: true },
        { left: "\\(", right: "\\)", display: false },
      ],
    });
  }
  if (window.document$) {
    window.document$.subscribe(typeset);  // mkdocs-material, also after instant navigation
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", typeset);
  } else {
    typeset();
  }
})();
