// The upload half of a post with `source: {type: "upload"}`: the app PUTs the file straight to
// TikTok's `upload_url` by the chunk plan of the `202` (UploadInstructions in infra/openapi.yaml,
// docs/publishing.md). The URL is a credential for this one upload: it appears in no message here.
import type { UploadChunk, UploadInstructions } from "./types.js";

export interface UploadOptions {
  /** The fetch to use; the global one when left out. */
  fetch?: typeof fetch;
  /** One of the plan's `content_types`; its first (`video/mp4`) when left out. */
  contentType?: string;
  /** Tries per chunk, the first included (default 5). */
  maxAttempts?: number;
  /** Milliseconds to wait after failed try number `attempt` (1, 2, …); exponential with jitter by default. */
  retryDelayMs?: (attempt: number) => number;
  /** Called after TikTok acknowledged each chunk (`index` counted from 0). */
  onChunk?: (index: number, total: number) => void;
  /** Stops the upload: the current PUT is aborted and the promise rejects with the signal's reason. */
  signal?: AbortSignal;
}

export type UploadErrorCode =
  /** The file is not the `video_size` the post was started with; nothing was sent. */
  | "size_mismatch"
  /** The chunks do not cover the file exactly once, in order; nothing was sent. */
  | "invalid_plan"
  /** TikTok refused a chunk (a 4xx other than 429): retrying the same request cannot help. */
  | "rejected"
  /** A chunk still failed (network error, 5xx or 429) after `maxAttempts` tries. */
  | "gave_up"
  /** TikTok answered the last chunk with 206: it still waits for bytes the plan did not have. */
  | "incomplete";

/** An upload that stopped. Chunks before `chunkIndex` were acknowledged by TikTok. */
export class UploadError extends Error {
  override readonly name = "UploadError";
  readonly code: UploadErrorCode;
  /** TikTok's HTTP status, when it answered. */
  readonly status?: number;
  /** The chunk that failed, when one did. */
  readonly chunkIndex?: number;
  /** Tries spent on that chunk. */
  readonly attempts?: number;
  /** TikTok's answer body (text), when it sent one. */
  readonly body?: string;

  constructor(
    code: UploadErrorCode,
    message: string,
    details: { status?: number; chunkIndex?: number; attempts?: number; body?: string; cause?: unknown } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.status = details.status;
    this.chunkIndex = details.chunkIndex;
    this.attempts = details.attempts;
    this.body = details.body;
  }
}

const DEFAULT_MAX_ATTEMPTS = 5;

/**
 * PUTs `file` to TikTok by `plan`, chunk after chunk, each with exactly the plan's
 * `Content-Range`, `Content-Length` and a `Content-Type` from `content_types`. A network error,
 * a 5xx or a 429 is retried (same chunk, bounded tries, backoff with jitter); a chunk TikTok
 * acknowledged is never sent again. Resolves once TikTok answered the last chunk with 201.
 */
export async function uploadByChunkPlan(
  plan: UploadInstructions,
  file: Blob | ArrayBuffer | Uint8Array,
  options: UploadOptions = {},
): Promise<void> {
  const size = byteSize(file);
  if (size !== plan.video_size) {
    throw new UploadError(
      "size_mismatch",
      `the file has ${size} bytes but the post was started with video_size ${plan.video_size}: start a new post with the file's size`,
    );
  }
  checkPlan(plan);
  const contentType = options.contentType ?? plan.content_types[0] ?? "video/mp4";
  if (!(plan.content_types as string[]).includes(contentType)) {
    throw new RangeError(`contentType must be one of ${plan.content_types.join(", ")}`);
  }
  const maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  if (!Number.isSafeInteger(maxAttempts) || maxAttempts < 1) {
    throw new RangeError("maxAttempts must be a whole number of at least 1");
  }
  const put: Put = {
    url: plan.upload_url,
    videoSize: plan.video_size,
    contentType,
    fetch: options.fetch ?? ((input, init) => globalThis.fetch(input, init)),
    maxAttempts,
    retryDelayMs: options.retryDelayMs ?? backoffWithJitter,
    signal: options.signal,
  };

  const total = plan.chunks.length;
  for (const chunk of plan.chunks) {
    options.signal?.throwIfAborted();
    const last = chunk.index === total - 1;
    await putChunk(put, chunk, slice(file, chunk), last);
    options.onChunk?.(chunk.index, total);
  }
}

interface Put {
  url: string;
  videoSize: number;
  contentType: string;
  fetch: typeof fetch;
  maxAttempts: number;
  retryDelayMs: (attempt: number) => number;
  signal?: AbortSignal;
}

async function putChunk(put: Put, chunk: UploadChunk, body: Blob | Uint8Array, last: boolean): Promise<void> {
  const failure = { chunkIndex: chunk.index };
  for (let attempt = 1; ; attempt++) {
    let response: Response;
    try {
      response = await put.fetch(put.url, {
        method: "PUT",
        headers: {
          "Content-Type": put.contentType,
          // Browsers compute Content-Length themselves (and ignore this); Node sends it as set.
          "Content-Length": String(chunk.size),
          "Content-Range": chunk.content_range,
        },
        // TypeScript's Uint8Array may sit on a SharedArrayBuffer, which BodyInit excludes; a file
        // read into memory never does.
        body: body as BodyInit,
        signal: put.signal,
      });
    } catch (cause) {
      put.signal?.throwIfAborted();
      if (attempt >= put.maxAttempts) {
        throw new UploadError("gave_up", `chunk ${chunk.index}: no answer from TikTok after ${attempt} tries`, {
          ...failure,
          attempts: attempt,
          cause,
        });
      }
      await sleep(put.retryDelayMs(attempt), put.signal);
      continue;
    }

    const text = await response.text().catch(() => "");
    if (response.ok) {
      if (last && response.status === 206) {
        throw new UploadError("incomplete", `TikTok still expects bytes after the last chunk (${chunk.index})`, {
          ...failure,
          status: 206,
          attempts: attempt,
          body: text,
        });
      }
      return;
    }
    // A try whose answer was lost may have reached TikTok: its 416 then says it holds this chunk.
    if (response.status === 416 && holdsChunk(response.headers.get("Content-Range"), chunk, put.videoSize)) {
      return;
    }
    const retryable = response.status === 429 || response.status >= 500;
    if (retryable && attempt < put.maxAttempts) {
      await sleep(put.retryDelayMs(attempt), put.signal);
      continue;
    }
    throw new UploadError(
      retryable ? "gave_up" : "rejected",
      `chunk ${chunk.index}: TikTok answered ${response.status}${retryable ? ` after ${attempt} tries` : ""}`,
      { ...failure, status: response.status, attempts: attempt, body: text },
    );
  }
}

/** TikTok's progress header `bytes 0-<last received>/<total>` covers all of `chunk`. */
function holdsChunk(contentRange: string | null, chunk: UploadChunk, videoSize: number): boolean {
  const match = /^bytes 0-(\d+)\/(\d+)$/.exec(contentRange?.trim() ?? "");
  return match !== null && Number(match[2]) === videoSize && Number(match[1]) >= chunk.last_byte;
}

/** The chunks must cover bytes 0 to video_size - 1 once, in order, each range as its header says. */
function checkPlan(plan: UploadInstructions): void {
  let next = 0;
  plan.chunks.forEach((chunk, position) => {
    const consistent =
      chunk.index === position &&
      chunk.first_byte === next &&
      chunk.last_byte >= chunk.first_byte &&
      chunk.size === chunk.last_byte - chunk.first_byte + 1 &&
      chunk.content_range === `bytes ${chunk.first_byte}-${chunk.last_byte}/${plan.video_size}`;
    if (!consistent) {
      throw new UploadError("invalid_plan", `chunk ${position} of the plan does not follow the one before it`, {
        chunkIndex: position,
      });
    }
    next = chunk.last_byte + 1;
  });
  if (next !== plan.video_size || plan.chunks.length !== plan.total_chunk_count) {
    throw new UploadError("invalid_plan", "the plan's chunks do not cover the whole file");
  }
}

function byteSize(file: Blob | ArrayBuffer | Uint8Array): number {
  if (file instanceof ArrayBuffer || ArrayBuffer.isView(file)) {
    return file.byteLength;
  }
  return file.size;
}

/** The chunk's bytes without copying: a lazy Blob slice, or a view into the same buffer. */
function slice(file: Blob | ArrayBuffer | Uint8Array, chunk: UploadChunk): Blob | Uint8Array {
  if (file instanceof ArrayBuffer) {
    return new Uint8Array(file, chunk.first_byte, chunk.size);
  }
  if (ArrayBuffer.isView(file)) {
    return file.subarray(chunk.first_byte, chunk.last_byte + 1);
  }
  return file.slice(chunk.first_byte, chunk.last_byte + 1);
}

/** 1 s, 2 s, 4 s … up to 30 s, each between half and all of it, so clients that failed together spread out. */
function backoffWithJitter(attempt: number): number {
  const ceiling = Math.min(30_000, 1_000 * 2 ** (attempt - 1));
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    signal?.throwIfAborted();
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, Math.max(0, ms));
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
