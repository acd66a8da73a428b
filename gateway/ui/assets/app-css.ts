// Styles for the operator view: system fonts only, light and dark via prefers-color-scheme.
export const APP_CSS = `
:root {
  color-scheme: light dark;
  --bg: #f6f7f9; --panel: #ffffff; --text: #1b1f24; --muted: #57606a; --line: #d0d7de;
  --track: #eef1f4; --other: #8c959f; --reserve: #c4cbd3; --bad: #b42318; --warn: #9a6700; --ok: #1a7f37;
  --focus: #0969da; --fade: rgba(255,255,255,.55);
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0d1117; --panel: #161b22; --text: #e6edf3; --muted: #9ea7b3; --line: #30363d;
    --track: #0d1117; --other: #6e7681; --reserve: #3d444d; --bad: #ff7b72; --warn: #d29922; --ok: #3fb950;
    --focus: #58a6ff; --fade: rgba(13,17,23,.6);
  }
}
* { box-sizing: border-box; }
html { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "DejaVu Sans", sans-serif; font-size: 15px; }
body { margin: 0; background: var(--bg); color: var(--text); line-height: 1.4; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
.top { display: flex; align-items: baseline; justify-content: space-between; gap: 1rem; padding: .6rem 1.25rem; border-bottom: 1px solid var(--line); background: var(--panel); }
h1 { font-size: 1.25rem; margin: 0; }
h1 .sub { font-weight: 400; color: var(--muted); }
h2 { font-size: 1.05rem; margin: 0 0 .4rem; }
h3 { font-size: .95rem; margin: .6rem 0 .3rem; color: var(--muted); font-weight: 600; }
main { max-width: 1400px; margin: 0 auto; padding: .75rem 1.25rem 2rem; }
main.stale { opacity: .6; }
section { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: .75rem 1rem; margin-bottom: .9rem; }
.hint, .muted { color: var(--muted); font-size: .87rem; margin: 0 0 .5rem; }
.connection { margin: 0; font-size: .87rem; color: var(--muted); }
.connection::before { content: ""; display: inline-block; width: .6rem; height: .6rem; border-radius: 50%; margin-right: .4rem; background: var(--other); vertical-align: baseline; }
.connection[data-mode="live"]::before { background: var(--ok); }
.connection[data-mode="polling"]::before { background: var(--warn); }
.connection[data-mode="offline"]::before { background: var(--bad); }
.connection[data-mode="offline"] { color: var(--bad); font-weight: 600; }

.summary { display: grid; grid-template-columns: repeat(auto-fit, minmax(11rem, 1fr)); gap: .5rem 1.5rem; margin: 0; }
.summary .item { margin: 0; }
.summary .label { display: block; color: var(--muted); font-size: .85rem; }
.summary .value { font-size: 1.5rem; font-weight: 650; font-variant-numeric: tabular-nums; }
.summary .util { grid-column: span 2; }
.utilbar { position: relative; height: .7rem; background: var(--track); border: 1px solid var(--line); border-radius: 4px; margin: .3rem 0 .15rem; }
.utilbar .fill { position: absolute; inset: 0 auto 0 0; background: var(--focus); border-radius: 3px 0 0 3px; }
.utilbar .seed { position: absolute; top: -3px; bottom: -3px; width: 2px; background: var(--text); }
.utilnote { font-size: .82rem; color: var(--muted); }

.node { margin-bottom: .4rem; }
.gpu { display: grid; grid-template-columns: 10.5rem minmax(0, 1fr) 12.5rem; gap: .75rem; align-items: center; margin: .35rem 0; }
.gpu .name { font-weight: 600; font-size: .92rem; }
.gpu .name small { display: block; font-weight: 400; color: var(--muted); font-size: .78rem; }
.gpu .stats { font-size: .82rem; color: var(--muted); font-variant-numeric: tabular-nums; }
.gpu .stats strong { color: var(--text); font-size: .95rem; }
.gpu.critical .track { outline: 2px solid var(--bad); outline-offset: 1px; }
.badge { display: inline-block; font-size: .72rem; font-weight: 700; padding: 0 .35rem; border-radius: 3px; border: 1px solid currentColor; }
.badge.bad { color: var(--bad); }
.track { display: flex; height: 3.4rem; border: 1px solid var(--line); border-radius: 5px; overflow: hidden; background: var(--track); list-style: none; margin: 0; padding: 0; }
.seg { flex: 0 1 auto; min-width: 0; container-type: inline-size; overflow: hidden; padding: .25rem .4rem; font-size: .78rem; line-height: 1.3; color: #fff; box-shadow: inset -1px 0 0 var(--panel); white-space: nowrap; }
.seg .l1 { font-weight: 650; overflow: hidden; text-overflow: ellipsis; }
.seg .l2 { overflow: hidden; text-overflow: ellipsis; opacity: .95; font-variant-numeric: tabular-nums; }
.seg[data-state="warming"] { background-image: repeating-linear-gradient(135deg, rgba(255,255,255,.22) 0 6px, transparent 6px 12px); }
.seg[data-state="draining"] { background-image: linear-gradient(var(--fade), var(--fade)); color: var(--text); box-shadow: inset 0 0 0 2px var(--panel); }
@container (max-width: 2.5rem) { .seg .l1, .seg .l2 { visibility: hidden; } }
@container (max-width: 5rem) { .seg .l2 { visibility: hidden; } }
.seg[data-state="failed"] { background-image: repeating-linear-gradient(45deg, rgba(0,0,0,.35) 0 5px, transparent 5px 10px); box-shadow: inset 0 0 0 3px var(--bad); }
.seg.other { background: var(--other); }
.seg.other, .seg.reserve { padding-left: .2rem; padding-right: .2rem; font-size: .7rem; }
.seg.reserve { background: repeating-linear-gradient(45deg, var(--reserve) 0 4px, transparent 4px 8px); color: var(--text); }
.seg.headroom { flex: 1 1 auto; background: transparent; color: var(--muted); display: flex; align-items: center; justify-content: safe center; box-shadow: none; }
.seg.headroom span { overflow: hidden; text-overflow: ellipsis; }
.gpu.gone .track { opacity: .5; border-style: dashed; }

.legend { display: flex; flex-wrap: wrap; gap: .3rem 1rem; font-size: .8rem; color: var(--muted); margin-top: .5rem; }
.swatch { display: inline-block; width: .9rem; height: .9rem; border-radius: 2px; vertical-align: -.15rem; margin-right: .3rem; }
.swatch.warming { background-image: repeating-linear-gradient(135deg, rgba(255,255,255,.4) 0 3px, transparent 3px 6px); background-color: var(--other); }
.swatch.draining { background: linear-gradient(var(--fade), var(--fade)) var(--other); }
.swatch.failed { background: repeating-linear-gradient(45deg, rgba(0,0,0,.35) 0 2px, transparent 2px 4px) var(--other); box-shadow: inset 0 0 0 2px var(--bad); }
.swatch.reserve { background: repeating-linear-gradient(45deg, var(--reserve) 0 2px, transparent 2px 4px); }
.swatch.other { background: var(--other); }
.swatch.headroom { border: 1px solid var(--line); background: var(--track); }

.columns { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 0 .9rem; }
@media (max-width: 900px) { .columns { grid-template-columns: 1fr; } .gpu { grid-template-columns: 1fr; gap: .2rem; } }
table.data { width: 100%; border-collapse: collapse; font-size: .87rem; font-variant-numeric: tabular-nums; }
table.data th, table.data td { text-align: left; padding: .25rem .5rem; border-bottom: 1px solid var(--line); }
table.data th { color: var(--muted); font-weight: 600; font-size: .8rem; }
table.data td.num, table.data th.num { text-align: right; }
.state { font-weight: 600; }
.state.failed, .state.unreachable, .errors-high { color: var(--bad); }
.state.warming, .state.loading, .state.draining { color: var(--warn); }
.state.ready { color: var(--ok); }
.plan-meta { font-size: .85rem; color: var(--muted); margin: 0 0 .4rem; }
#plan-empty { font-size: .9rem; margin: 0; }
.plan-failure { margin-top: .5rem; font-size: .85rem; color: var(--bad); overflow-wrap: anywhere; }
.plan-hint { margin: .2rem 0 0; color: var(--text); }
.actions { margin: 0; padding-left: 1.2rem; font-size: .88rem; }
.actions li { margin: .15rem 0; }
.action-type { font-weight: 700; text-transform: uppercase; font-size: .75rem; letter-spacing: .03em; }
.changes { margin: 0; padding-left: 1.2rem; font-size: .85rem; max-height: 12rem; overflow: auto; }
.changes time { color: var(--muted); font-variant-numeric: tabular-nums; margin-right: .5rem; }
.unplaced { margin-top: .5rem; font-size: .85rem; color: var(--bad); }
`;
