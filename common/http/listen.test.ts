import { createServer } from 'node:http';
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { closeServer, listen, listenApp, urlHost } from './listen.js';

describe('urlHost', () => {
  it('brackets IPv6 addresses and reaches wildcard binds on loopback', () => {
    expect(urlHost('::1')).toBe('[::1]');
    expect(urlHost('fe80::1')).toBe('[fe80::1]');
    expect(urlHost('127.0.0.1')).toBe('127.0.0.1');
    expect(urlHost('localhost')).toBe('localhost');
    for (const wildcard of ['0.0.0.0', '::', '']) expect(urlHost(wildcard)).toBe('127.0.0.1');
  });
});

describe('listen', () => {
  it('answers on the URL it returns for an IPv6 host', async () => {
    const server = createServer((_req, res) => res.end('hello'));
    const url = await listen(server, 0, '::1');
    try {
      expect(url).toMatch(/^http:\/\/\[::1\]:\d+$/);
      expect(await (await fetch(url)).text()).toBe('hello');
    } finally {
      await closeServer(server);
    }
  });

  it('rejects when the port is taken', async () => {
    const first = createServer();
    const url = await listen(first, 0, '127.0.0.1');
    try {
      const port = Number(new URL(url).port);
      await expect(listen(createServer(), port, '127.0.0.1')).rejects.toMatchObject({ code: 'EADDRINUSE' });
    } finally {
      await closeServer(first);
    }
  });

  it('serves a Hono app (the scheduler) on an IPv6 host', async () => {
    const app = new Hono().get('/ping', (c) => c.text('pong'));
    const http = await listenApp(app, 0, '::1');
    try {
      expect(http.url).toMatch(/^http:\/\/\[::1\]:\d+$/);
      expect(await (await fetch(`${http.url}/ping`)).text()).toBe('pong');
    } finally {
      await http.close();
    }
  });
});
