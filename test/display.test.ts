import assert from "node:assert/strict";
import { test } from "node:test";
import { inNotebook, plotHtml, scriptJson, showPlot, showTable, tableBundle } from "../lib/display";
import { fakeKernel } from "./helpers/fake-kernel";

function captureLog(fn: () => void): string[] {
  const lines: string[] = [];
  const original = console.log;
  console.log = (...args: unknown[]) => void lines.push(args.join(" "));
  try {
    fn();
  } finally {
    console.log = original;
  }
  return lines;
}

test("outside a tslab kernel nothing is a notebook", () => {
  assert.equal(inNotebook(), false);
});

test("tableBundle renders row objects as HTML and aligned text, numbers to 4 significant digits", () => {
  const { html, text } = tableBundle([
    { name: "a<b", value: 1 / 3 },
    { name: "c", value: 12, extra: true },
  ]);
  assert.match(html, /<thead><tr><th>name<\/th><th>value<\/th><th>extra<\/th><\/tr><\/thead>/);
  assert.match(html, /<td>a&#60;b<\/td><td>0.3333<\/td><td><\/td>/);
  assert.match(html, /<td>c<\/td><td>12<\/td><td>true<\/td>/);
  assert.deepEqual(text.split("\n"), ["name   value  extra", " a<b  0.3333       ", "   c      12   true"]);
});

test("tableBundle reads a DataFrame-like object (columns + 2-D values)", () => {
  const { html } = tableBundle({ columns: ["x", "y"], values: [[1, 2], [3, 4.5]] });
  assert.match(html, /<tr><td>1<\/td><td>2<\/td><\/tr>\n<tr><td>3<\/td><td>4.500<\/td><\/tr>/);
});

test("tableBundle shows at most maxRows rows and says how many it left out", () => {
  const rows = Array.from({ length: 5 }, (_, i) => ({ i }));
  const { html, text } = tableBundle(rows, { maxRows: 2 });
  assert.equal(html.match(/<tr><td>/g)?.length, 2);
  assert.match(html, /<p>3 more rows not shown \(5 in all\)<\/p>$/);
  assert.deepEqual(text.split("\n"), ["i", "0", "1", "3 more rows not shown (5 in all)"]);
});

test("scriptJson cannot close the script element it is embedded in", () => {
  const json = scriptJson({ s: "</script><!-- \u2028" });
  assert.ok(!json.includes("<"));
  assert.ok(!json.includes("\u2028"));
  assert.deepEqual(JSON.parse(json), { s: "</script><!-- \u2028" });
});

test("plotHtml draws the figure into its own div with the page's Plotly", () => {
  const html = plotHtml({ data: [{ type: "bar", x: [1], y: [2] }], layout: { title: { text: "</script>" } } }, "p1");
  assert.match(html, /^<div id="p1"/);
  assert.match(html, /window\.Plotly\.newPlot\("p1", fig\.data, fig\.layout, fig\.config\)/);
  assert.equal(html.match(/<\/script>/g)?.length, 1, "only the closing tag of the plot's own script");
  assert.match(html, /"responsive":true/);
});

test("outside a notebook showPlot and showTable print text summaries", () => {
  const lines = captureLog(() => {
    showPlot({ data: [{ type: "scatter", name: "loss", x: [1, 2, 3], y: [3, 2, 1] }], layout: { title: { text: "Loss" } } });
    showTable([{ a: 1 }]);
  });
  assert.deepEqual(lines, ['[plot "Loss": loss (3 points)]', "a\n1"]);
});

test("inside a kernel showPlot sends ONE output with the plotly JSON, HTML and text", () => {
  const kernel = fakeKernel();
  try {
    assert.equal(inNotebook(), true);
    showPlot({ data: [{ type: "bar", x: [1], y: [2] }] });
    showTable([{ a: 1 }]);
    assert.equal(kernel.sent.length, 2);
    const [plot, table] = kernel.sent;
    assert.deepEqual(Object.keys(plot.data).sort(), ["application/vnd.plotly.v1+json", "text/html", "text/plain"]);
    assert.deepEqual(plot.data["application/vnd.plotly.v1+json"], { data: [{ type: "bar", x: [1], y: [2] }], layout: {}, config: {} });
    assert.equal(plot.update, false);
    assert.deepEqual(Object.keys(table.data).sort(), ["text/html", "text/plain"]);
    assert.match(String(table.data["text/html"]), /<table/);
  } finally {
    kernel.remove();
  }
  assert.equal(inNotebook(), false);
});
