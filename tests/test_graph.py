"""The computational graph in each document: read off the network, drawn with TikZ in the LaTeX
document and as Mermaid in the Markdown; the Mermaid is rendered by the real mermaid package."""
import json
import re
import shutil

import pytest

from derive.render.document import _graph

from conftest import OUTPUT, SPECS, require


def test_every_quantity_is_a_node_and_every_use_an_edge(derivation_of):
    derivation = derivation_of("two-layer-tanh")
    graph = _graph(derivation.network, derivation.wrt)
    names = {node["id"]: node["name"] for node in graph["nodes"]}
    edges = {(names[e["source"]], names[e["target"]]) for e in graph["edges"]}
    assert set(names.values()) == set(derivation.network.tensors)
    assert ("x", "z1") in edges and ("w2", "z2") in edges and ("t", "E") in edges and len(edges) == 10
    backward = {(names[e["source"]], names[e["target"]]) for e in graph["edges"] if e["backward"]}
    assert ("t", "E") not in backward and ("o", "E") in backward  # no gradient is asked for by the target
    assert [n["name"] for n in graph["nodes"] if n["y"] == 0] == ["x", "z1", "a1", "z2", "o", "E"]  # the data's path


def test_only_the_path_of_the_requested_gradient_is_marked(derivation_of):
    network = derivation_of("two-layer-tanh").network
    graph = _graph(network, ["w2"])
    names = {node["id"]: node["name"] for node in graph["nodes"]}
    backward = {(names[e["source"]], names[e["target"]]) for e in graph["edges"] if e["backward"]}
    assert backward == {("w2", "z2"), ("z2", "o"), ("o", "E")}


def test_a_document_that_is_part_of_a_page_has_no_graph(seed):
    assert "```mermaid" in seed.markdown() and r"\begin{tikzpicture}" in seed.latex()
    assert "mermaid" not in seed._repr_markdown_() and "tikzpicture" not in seed._repr_latex_()


@pytest.fixture(scope="module")
def mermaid_js(node_modules):
    path = node_modules / "mermaid" / "dist" / "mermaid.min.js"
    require("mermaid", path.is_file(), "run 'npm ci' at the project root")
    return path


def test_the_mermaid_graph_of_every_document_renders(browser, mermaid_js, tmp_path):
    shutil.copy(mermaid_js, tmp_path / "mermaid.min.js")
    blocks = []
    for spec in SPECS:
        found = re.search(r"```mermaid\n(.*?)```", (OUTPUT / f"{spec.stem}.md").read_text(), re.S)
        assert found, spec.stem
        blocks.append(found.group(1))
    page = tmp_path / "graphs.html"
    page.write_text(  # each block parsed and rendered by mermaid itself, one after another
        '<html><body><div id="verdicts"></div><div id="drawn"></div><script src="mermaid.min.js"></script><script>'
        f"const blocks = {json.dumps(blocks)};"
        "(async () => { const verdicts = [];"
        "  for (const [n, block] of blocks.entries()) {"
        "    try { await mermaid.parse(block); const {svg} = await mermaid.render('graph' + n, block);"
        "          document.getElementById('drawn').insertAdjacentHTML('beforeend', svg); verdicts.push('ok'); }"
        "    catch (error) { verdicts.push('error: ' + error.message); } }"
        "  document.getElementById('verdicts').textContent = verdicts.join(' | '); })();"
        "</script></body></html>")
    dom = browser(page, screenshot=tmp_path / "graphs.png")
    verdicts = re.search(r'<div id="verdicts">([^<]*)</div>', dom).group(1)
    assert verdicts == " | ".join(["ok"] * len(blocks)), verdicts
    assert dom.count("<svg") >= len(blocks)
