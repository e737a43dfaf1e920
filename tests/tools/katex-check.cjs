// Reads a JSON list of {tex, display} from stdin; prints a JSON list of the errors KaTeX
// reports (strict mode, no trust, throwOnError), one per failing formula.
const katex = require("katex");
let input = "";
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", () => {
  const errors = [];
  for (const [position, item] of JSON.parse(input).entries()) {
    try {
      katex.renderToString(item.tex, {
        displayMode: item.display, throwOnError: true, strict: "error", trust: false,
      });
    } catch (error) {
      errors.push({ position, tex: item.tex, message: String(error.message) });
    }
  }
  process.stdout.write(JSON.stringify(errors));
});
