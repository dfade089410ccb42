import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";

import { UploadError, uploadByChunkPlan } from "@tiktok-connect/client";
import { startServer } from "./helpers.mjs";

const CONTENT_TYPES = ["video/mp4", "video/quicktime", "video/webm"];
const noDelay = () => 0;

/** The service's plan (docs/publishing.md): floor(size / chunkSize) chunks, the last taking the rest. */
function planFor(url, videoSize, chunkSize) {
  const count = Math.max(1, Math.floor(videoSize / chunkSize));
  const chunks = Array.from({ length: count }, (_, index) => {
    const first = index * chunkSize;
    const last = index === count - 1 ? videoSize - 1 : first + chunkSize - 1;
    return { index, first_byte: first, last_byte: last, size: last - first + 1, content_range: `bytes ${first}-${last}/${videoSize}` };
  });
  return {
    upload_url: `${url}/upload/?upload_id=u1&upload_token=secret-token`,
    upload_url_expires_at: 1_795_315_375,
    content_types: CONTENT_TYPES,
    video_size: videoSize,
    chunk_size: chunkSize,
    total_chunk_count: count,
    chunks,
  };
}

/** A file whose byte i is i % 251, so a wrong slice shows up in the server's check. */
function fileBytes(size) {
  return Uint8Array.from({ length: size }, (_, i) => i % 251);
}

/**
 * Plays TikTok's upload endpoint as the fake TikTok does (fake-tiktok/src/upload.rs): chunks
 * in order, each exactly the next range; 206 with the progress while chunks remain, 201 after
 * the last; 416 with the progress for a range that is not the next one. `faults` makes it
 * misbehave per chunk index: `{status, times}` answers that status instead (once by default),
 * `{drop: "after-count"}` takes the chunk and then cuts the connection without answering,
 * `{drop: "before-count"}` cuts it without taking the chunk, `{answer: 206}` answers that
 * status instead of counting the chunk.
 */
async function startTikTok(videoSize, faults = {}) {
  let uploaded = 0;
  const answered = [];
  const server = await startServer((request, res, req) => {
    const range = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(request.headers["content-range"] ?? "");
    const [first, last, total] = range ? range.slice(1).map(Number) : [NaN, NaN, NaN];
    const chunkIndex = Math.floor(first / 10); // every plan here has 10-byte chunks
    const answer = (status, body = "") => {
      answered.push({ range: request.headers["content-range"], status });
      const progress = uploaded === 0 ? `bytes */${videoSize}` : `bytes 0-${uploaded - 1}/${videoSize}`;
      res.writeHead(status, { "Content-Type": "text/plain", "Content-Range": progress });
      res.end(body);
    };
    const fault = faults[chunkIndex];
    if (fault && (fault.times ?? 1) > 0) {
      fault.times = (fault.times ?? 1) - 1;
      if (fault.drop) {
        if (fault.drop === "after-count") uploaded = last + 1;
        answered.push({ range: request.headers["content-range"], status: "dropped" });
        req.socket.destroy();
        return;
      }
      if (fault.answer) {
        uploaded = last + 1;
        return answer(fault.answer);
      }
      return answer(fault.status, "refused on purpose");
    }
    if (request.method !== "PUT" || !request.url.startsWith("/upload/?upload_id=u1&upload_token=secret-token")) {
      return answer(404, "No upload task for this URL.");
    }
    if (!CONTENT_TYPES.includes(request.headers["content-type"])) return answer(400, "bad Content-Type");
    if (!range || total !== videoSize) return answer(400, "bad Content-Range");
    if (first !== uploaded) return answer(416, "not the next chunk");
    if (Number(request.headers["content-length"]) !== last - first + 1) return answer(400, "Content-Length ≠ range");
    if (request.body.length !== last - first + 1) return answer(400, "body ≠ Content-Length");
    if (!request.body.every((byte, k) => byte === (first + k) % 251)) return answer(400, "wrong bytes");
    uploaded = last + 1;
    return answer(uploaded === videoSize ? 201 : 206);
  });
  return { ...server, answered, uploadedBytes: () => uploaded };
}

/** Once a range was acknowledged (2xx), no request for it may follow. */
function assertNoAcknowledgedChunkResent(answered) {
  const acknowledged = new Set();
  for (const { range, status } of answered) {
    assert.ok(!acknowledged.has(range), `${range} was sent again after TikTok acknowledged it`);
    if (typeof status === "number" && status >= 200 && status < 300) acknowledged.add(range);
  }
}

describe("uploadByChunkPlan", () => {
  let tiktok;
  afterEach(() => tiktok?.close());

  it("PUTs every chunk in order with the planned headers: 206, 206, then 201", async () => {
    tiktok = await startTikTok(35);
    const plan = planFor(tiktok.url, 35, 10);
    const progress = [];

    await uploadByChunkPlan(plan, fileBytes(35), { onChunk: (index, total) => progress.push([index, total]) });

    assert.deepEqual(
      tiktok.requests.map((r) => [r.method, r.headers["content-range"], r.headers["content-length"], r.headers["content-type"]]),
      [
        ["PUT", "bytes 0-9/35", "10", "video/mp4"],
        ["PUT", "bytes 10-19/35", "10", "video/mp4"],
        ["PUT", "bytes 20-34/35", "15", "video/mp4"],
      ],
    );
    assert.deepEqual(tiktok.answered.map((a) => a.status), [206, 206, 201]);
    assert.deepEqual(progress, [[0, 3], [1, 3], [2, 3]]);
    assert.equal(tiktok.uploadedBytes(), 35);
  });

  it("uses the fetch it is given, passing it the planned headers", async () => {
    const seen = [];
    const plan = planFor("https://upload.example.com", 35, 10);
    const fetch = async (url, init) => {
      seen.push([url, init.method, init.headers["Content-Length"], init.headers["Content-Range"], init.body.byteLength]);
      return new Response(null, { status: seen.length === 3 ? 201 : 206 });
    };

    await uploadByChunkPlan(plan, fileBytes(35), { fetch });

    assert.deepEqual(seen, [
      [plan.upload_url, "PUT", "10", "bytes 0-9/35", 10],
      [plan.upload_url, "PUT", "10", "bytes 10-19/35", 10],
      [plan.upload_url, "PUT", "15", "bytes 20-34/35", 15],
    ]);
  });

  it("takes a file of one chunk", async () => {
    tiktok = await startTikTok(7);
    await uploadByChunkPlan(planFor(tiktok.url, 7, 10), fileBytes(7));
    assert.deepEqual(tiktok.answered, [{ range: "bytes 0-6/7", status: 201 }]);
  });

  it("slices an ArrayBuffer, a Uint8Array view at an offset and a Blob alike", async () => {
    const bytes = fileBytes(35);
    const padded = new Uint8Array(35 + 13);
    padded.set(bytes, 7);
    const inputs = {
      arrayBuffer: bytes.slice().buffer,
      view: padded.subarray(7, 42),
      blob: new Blob([bytes]),
    };
    for (const [name, file] of Object.entries(inputs)) {
      tiktok = await startTikTok(35);
      await uploadByChunkPlan(planFor(tiktok.url, 35, 10), file);
      assert.deepEqual(tiktok.answered.map((a) => a.status), [206, 206, 201], name);
      await tiktok.close();
      tiktok = undefined;
    }
  });

  it("reads a Blob only through slices, never the whole file", async () => {
    tiktok = await startTikTok(35);
    const sliced = [];
    class WatchedBlob extends Blob {
      slice(start, end) {
        sliced.push([start, end]);
        return super.slice(start, end);
      }
      arrayBuffer() { throw new Error("read the whole file"); }
      bytes() { throw new Error("read the whole file"); }
      stream() { throw new Error("read the whole file"); }
      text() { throw new Error("read the whole file"); }
    }

    await uploadByChunkPlan(planFor(tiktok.url, 35, 10), new WatchedBlob([fileBytes(35)]));

    assert.deepEqual(sliced, [[0, 10], [10, 20], [20, 35]]);
  });

  it("sends another of the plan's content types when asked, and refuses one TikTok does not take", async () => {
    tiktok = await startTikTok(7);
    await uploadByChunkPlan(planFor(tiktok.url, 7, 10), fileBytes(7), { contentType: "video/webm" });
    assert.equal(tiktok.requests[0].headers["content-type"], "video/webm");

    await assert.rejects(
      uploadByChunkPlan(planFor(tiktok.url, 7, 10), fileBytes(7), { contentType: "video/x-matroska" }),
      RangeError,
    );
    assert.equal(tiktok.requests.length, 1);
  });

  it("retries a chunk answered 500 once, and never resends an acknowledged one", async () => {
    tiktok = await startTikTok(35, { 1: { status: 500 } });
    const delays = [];

    await uploadByChunkPlan(planFor(tiktok.url, 35, 10), fileBytes(35), {
      retryDelayMs: (attempt) => (delays.push(attempt), 0),
    });

    assert.deepEqual(tiktok.answered, [
      { range: "bytes 0-9/35", status: 206 },
      { range: "bytes 10-19/35", status: 500 },
      { range: "bytes 10-19/35", status: 206 },
      { range: "bytes 20-34/35", status: 201 },
    ]);
    assert.deepEqual(delays, [1]);
    assertNoAcknowledgedChunkResent(tiktok.answered);
  });

  it("retries a 429 and a 503 too", async () => {
    tiktok = await startTikTok(35, { 0: { status: 429 }, 2: { status: 503 } });
    await uploadByChunkPlan(planFor(tiktok.url, 35, 10), fileBytes(35), { retryDelayMs: noDelay });
    assert.deepEqual(tiktok.answered.map((a) => a.status), [429, 206, 206, 503, 201]);
  });

  it("resends a chunk whose connection dropped before TikTok took it", async () => {
    tiktok = await startTikTok(35, { 1: { drop: "before-count" } });
    await uploadByChunkPlan(planFor(tiktok.url, 35, 10), fileBytes(35), { retryDelayMs: noDelay });
    assert.deepEqual(tiktok.answered.map((a) => [a.range, a.status]), [
      ["bytes 0-9/35", 206],
      ["bytes 10-19/35", "dropped"],
      ["bytes 10-19/35", 206],
      ["bytes 20-34/35", 201],
    ]);
    assertNoAcknowledgedChunkResent(tiktok.answered);
  });

  it("goes on when the answer was lost after TikTok took the chunk (its 416 says it holds it)", async () => {
    tiktok = await startTikTok(35, { 1: { drop: "after-count" } });
    await uploadByChunkPlan(planFor(tiktok.url, 35, 10), fileBytes(35), { retryDelayMs: noDelay });
    assert.deepEqual(tiktok.answered.map((a) => [a.range, a.status]), [
      ["bytes 0-9/35", 206],
      ["bytes 10-19/35", "dropped"],
      ["bytes 10-19/35", 416],
      ["bytes 20-34/35", 201],
    ]);
    assert.equal(tiktok.uploadedBytes(), 35);
  });

  it("stops at a 4xx without retrying or sending the next chunks", async () => {
    tiktok = await startTikTok(35, { 1: { status: 403, times: 99 } });

    const error = await uploadByChunkPlan(planFor(tiktok.url, 35, 10), fileBytes(35), { retryDelayMs: noDelay }).catch((e) => e);

    assert.ok(error instanceof UploadError);
    assert.equal(error.code, "rejected");
    assert.equal(error.status, 403);
    assert.equal(error.chunkIndex, 1);
    assert.equal(error.body, "refused on purpose");
    assert.ok(!error.message.includes("secret-token"), "the upload URL is a credential");
    assert.deepEqual(tiktok.answered.map((a) => a.status), [206, 403]);
  });

  it("gives up after maxAttempts tries of one chunk", async () => {
    tiktok = await startTikTok(35, { 0: { status: 502, times: 99 } });

    const error = await uploadByChunkPlan(planFor(tiktok.url, 35, 10), fileBytes(35), {
      maxAttempts: 3,
      retryDelayMs: noDelay,
    }).catch((e) => e);

    assert.equal(error.code, "gave_up");
    assert.equal(error.status, 502);
    assert.equal(error.attempts, 3);
    assert.equal(tiktok.requests.length, 3);
  });

  it("gives up on a chunk that keeps losing its connection, naming no URL", async () => {
    tiktok = await startTikTok(35, { 0: { drop: "before-count", times: 99 } });

    const error = await uploadByChunkPlan(planFor(tiktok.url, 35, 10), fileBytes(35), {
      maxAttempts: 2,
      retryDelayMs: noDelay,
    }).catch((e) => e);

    assert.equal(error.code, "gave_up");
    assert.equal(error.status, undefined);
    assert.equal(error.attempts, 2);
    assert.ok(error.cause, "the network error is kept as the cause");
    assert.ok(!error.message.includes("secret-token"));
  });

  it("refuses a file whose size is not the plan's video_size before any PUT", async () => {
    tiktok = await startTikTok(35);
    for (const file of [fileBytes(34), new Blob([fileBytes(36)]), new ArrayBuffer(0)]) {
      const error = await uploadByChunkPlan(planFor(tiktok.url, 35, 10), file).catch((e) => e);
      assert.ok(error instanceof UploadError);
      assert.equal(error.code, "size_mismatch");
    }
    assert.equal(tiktok.requests.length, 0);
  });

  it("refuses a plan whose chunks do not cover the file exactly, before any PUT", async () => {
    tiktok = await startTikTok(35);
    const gap = planFor(tiktok.url, 35, 10);
    gap.chunks[1] = { index: 1, first_byte: 11, last_byte: 19, size: 9, content_range: "bytes 11-19/35" };
    const short = planFor(tiktok.url, 35, 10);
    short.chunks.pop();
    short.total_chunk_count = 2;
    const wrongHeader = planFor(tiktok.url, 35, 10);
    wrongHeader.chunks[2].content_range = "bytes 20-34/36";
    for (const plan of [gap, short, wrongHeader]) {
      const error = await uploadByChunkPlan(plan, fileBytes(35)).catch((e) => e);
      assert.equal(error.code, "invalid_plan");
    }
    assert.equal(tiktok.requests.length, 0);
  });

  it("reports a last chunk TikTok answered 206 as incomplete", async () => {
    tiktok = await startTikTok(35, { 2: { answer: 206 } });
    const error = await uploadByChunkPlan(planFor(tiktok.url, 35, 10), fileBytes(35)).catch((e) => e);
    assert.equal(error.code, "incomplete");
    assert.equal(error.chunkIndex, 2);
  });

  it("stops waiting between tries when its signal is aborted", async () => {
    tiktok = await startTikTok(35, { 0: { status: 500, times: 99 } });
    const controller = new AbortController();
    const started = Date.now();

    const upload = uploadByChunkPlan(planFor(tiktok.url, 35, 10), fileBytes(35), {
      signal: controller.signal,
      retryDelayMs: () => 60_000,
    });
    setTimeout(() => controller.abort(), 50);

    await assert.rejects(upload, { name: "AbortError" });
    assert.ok(Date.now() - started < 5_000);
    assert.equal(tiktok.requests.length, 1);
  });
});
