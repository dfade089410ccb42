import path from 'node:path';
import type { NextConfig } from 'next';

// The client package is a `file:` dependency outside this directory (../../clients/typescript):
// Turbopack and the output tracing must see the repository root to resolve and bundle it.
const repoRoot = path.resolve(import.meta.dirname, '../..');

const nextConfig: NextConfig = {
  turbopack: { root: repoRoot },
  outputFileTracingRoot: repoRoot,
  poweredByHeader: false,
  async headers() {
    return [
      { source: '/:path*', headers: [{ key: 'X-Frame-Options', value: 'DENY' }, { key: 'X-Content-Type-Options', value: 'nosniff' }] },
    ];
  },
};

export default nextConfig;
