// The page shell. Everything dynamic is drawn by app.js from /ui/events (or /v1/cluster when SSE fails).
export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>gpumux · operator view</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/ui/app.css">
<script type="module" src="/ui/app.js"></script>
</head>
<body>
<header class="top">
  <h1>gpumux <span class="sub">operator view</span></h1>
  <p id="connection" class="connection" data-mode="connecting"><span id="connection-mode" role="status">Connecting…</span> <span id="updated"></span></p>
</header>
<main id="main" aria-busy="true">
  <section aria-labelledby="h-summary">
    <h2 id="h-summary" class="visually-hidden">Cluster summary</h2>
    <div id="summary" class="summary"></div>
  </section>
  <section aria-labelledby="h-gpus">
    <h2 id="h-gpus">GPU memory</h2>
    <p class="hint">One bar per GPU, its length the GPU's capacity; one segment per replica, its width the replica's footprint.</p>
    <div id="gpus"></div>
    <div id="unplaced"></div>
    <div id="legend" class="legend" aria-label="Legend"></div>
  </section>
  <div class="columns">
    <section aria-labelledby="h-models">
      <h2 id="h-models">Models</h2>
      <table id="models" class="data">
        <caption class="visually-hidden">Per model version: replicas ready, its share of the configured traffic split, and request rate, p95 latency and error rate over the last 30 seconds</caption>
        <thead><tr><th scope="col">Model</th><th scope="col">Replicas ready</th><th scope="col">Split</th><th scope="col">Requests/s</th><th scope="col">p95</th><th scope="col">Errors</th></tr></thead>
        <tbody></tbody>
      </table>
    </section>
    <section aria-labelledby="h-plan">
      <h2 id="h-plan">Scheduler plan</h2>
      <div id="plan"></div>
    </section>
  </div>
  <section aria-labelledby="h-replicas">
    <h2 id="h-replicas">Replicas</h2>
    <table id="replicas" class="data">
      <caption class="visually-hidden">Every replica with its GPU, state, footprint, in-flight requests and queue</caption>
      <thead><tr><th scope="col">Replica</th><th scope="col">Model</th><th scope="col">GPU</th><th scope="col">State</th><th scope="col">Footprint</th><th scope="col">In flight</th><th scope="col">Queued</th><th scope="col">Service time</th></tr></thead>
      <tbody></tbody>
    </table>
  </section>
  <section aria-labelledby="h-changes">
    <h2 id="h-changes">Recent changes</h2>
    <ol id="changes" class="changes" aria-live="polite"><li class="muted">None since the page opened.</li></ol>
  </section>
</main>
<noscript><p>This page draws with JavaScript. The same data is JSON at <a href="/v1/cluster">/v1/cluster</a>.</p></noscript>
</body>
</html>
`;
