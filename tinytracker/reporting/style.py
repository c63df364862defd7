"""The page's stylesheet, inline: no font, script or image is fetched from anywhere.

It prints to A4 with each figure, headline and table row kept whole and table headings
repeated on every page.
"""

CSS = """
:root { --ink: #1b1f24; --muted: #5b6470; --line: #d8dde3; --bad: #b42318; --good: #067647; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       color: var(--ink); margin: 0 auto; max-width: 1100px; padding: 24px; }
h1 { font-size: 22px; margin: 0 0 8px; }
h2 { font-size: 18px; margin: 32px 0 8px; border-bottom: 2px solid var(--ink); }
h3 { font-size: 15px; margin: 18px 0 6px; }
header p, .note, figcaption { color: var(--muted); }
nav ol { display: flex; flex-wrap: wrap; gap: 4px 18px; list-style: none; padding: 0;
         margin: 8px 0; }
figure { margin: 8px 0 12px; }
img.plot { width: 100%; height: auto; max-width: 900px; display: block;
           border: 1px solid var(--line); }
figcaption { font-size: 12px; }
table { border-collapse: collapse; width: 100%; font-size: 12px; margin: 6px 0 12px; }
th, td { border-bottom: 1px solid var(--line); padding: 3px 6px; text-align: left;
         vertical-align: top; overflow-wrap: anywhere; }
td.name { font-family: ui-monospace, monospace; font-size: 11px; max-width: 320px; }
th { background: #f3f5f7; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.failed td { color: var(--bad); font-weight: 600; }
.headlines { display: grid; grid-template-columns: repeat(auto-fill, minmax(200px, 1fr));
             gap: 8px; margin: 0; }
.headline { border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; }
.headline dd { font-size: 24px; font-weight: 700; margin: 0; }
.headline dt { font-size: 12px; color: var(--muted); }
.headline.bad { border-color: var(--bad); }
.headline.bad dd { color: var(--bad); }
.alert, .ok { padding: 6px 10px; border-radius: 4px; font-weight: 600; }
.alert { background: #fef3f2; color: var(--bad); }
.ok { background: #ecfdf3; color: var(--good); }
.empty { color: var(--muted); font-style: italic; }
.activity { border: 1px solid var(--line); border-radius: 6px; padding: 6px 12px;
            margin: 10px 0; }
.activity dl { display: grid; grid-template-columns: 180px 1fr; gap: 2px 12px; margin: 0; }
.activity dt { font-weight: 600; }
.activity dd { margin: 0; }
code { font-size: 12px; }
@page { size: A4; margin: 12mm; }
@media print {
  body { max-width: none; padding: 0; font-size: 11px; }
  nav { display: none; }
  h2 { break-after: avoid; }
  figure, .headline, tr, .activity dl > * { break-inside: avoid; }
  thead { display: table-header-group; }
  img.plot { max-width: 100%; }
  a { color: inherit; text-decoration: none; }
}
"""
