// A local HTTP server for the tests: every request is recorded (method, path, headers, body)
// before `handle` answers it. Listens on 127.0.0.1 only, on a free port.
import { createServer } from "node:http";

export async function startServer(handle) {
  const requests = [];
  const server = createServer(async (req, res) => {
    const parts = [];
    for await (const part of req) parts.push(part);
    const request = {
      method: req.method,
      url: req.url,
      headers: req.headers,
      body: Buffer.concat(parts),
    };
    requests.push(request);
    await handle(request, res, req);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(resolve);
      }),
  };
}

export function json(res, status, body, headers = {}) {
  res.writeHead(status, { "Content-Type": "application/json", ...headers });
  res.end(JSON.stringify(body));
}
