/**
 * The floor for a proxy written on Node's own HTTP stack: what bench/gateway.ts measures beside nginx and the
 * gateway, so the gateway's cost splits into "Node's HTTP server and undici" and "what gpumux adds".
 *
 * It does the least a buffering proxy can do with the libraries the gateway uses: node:http's server (the same
 * keep-alive), the body held as the chunks Node delivers and sent once complete as one Buffer, one undici Pool
 * (the gateway's pool options) with a dispatch handler writing the answer straight into the response. No
 * routing, limits, deadlines, retries, metrics or logs. Plain JavaScript, so no loader or transpiler adds work
 * per request; handlers are classes (per request: two objects and two bound listeners, nothing more).
 *
 *   node bench/node-floor-proxy.mjs http://127.0.0.1:PORT   → prints its own URL
 */
import { createServer } from 'node:http';
import { Pool } from 'undici';

const pool = new Pool(process.argv[2], { connections: 256, pipelining: 1, keepAliveTimeout: 30_000 });

class Answer {
  constructor(res) {
    this.res = res;
  }
  onRequestStart() {}
  onResponseStart(_controller, status, headers) {
    this.res.writeHead(status, { 'content-type': headers['content-type'] ?? 'application/octet-stream' });
  }
  onResponseData(_controller, chunk) {
    this.res.write(chunk);
  }
  onResponseEnd() {
    this.res.end();
  }
  onResponseError() {
    this.res.destroy();
  }
}

class Body {
  constructor(req, res) {
    this.req = req;
    this.res = res;
    this.chunks = [];
    this.length = 0;
    req.on('data', this.onData.bind(this));
    req.on('end', this.onEnd.bind(this));
  }
  onData(chunk) {
    this.chunks.push(chunk);
    this.length += chunk.length;
  }
  onEnd() {
    const body = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.length);
    const headers = {
      'content-type': this.req.headers['content-type'] ?? 'application/octet-stream',
      'content-length': String(this.length),
    };
    pool.dispatch({ path: this.req.url, method: this.req.method, headers, body }, new Answer(this.res));
  }
}

const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => new Body(req, res));
server.listen(0, '127.0.0.1', () => process.stdout.write(`http://127.0.0.1:${server.address().port}\n`));
process.on('SIGTERM', () => process.exit(0));
