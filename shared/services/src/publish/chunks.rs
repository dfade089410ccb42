//! TikTok's chunk rules for `FILE_UPLOAD` (docs/tiktok.md#chunked-upload), as a plan the client
//! follows: the Lambda never carries the video, the client PUTs each chunk to TikTok's
//! `upload_url`.
//!
//! Rules: a video under 5 MB goes whole (one chunk, `chunk_size == video_size`); otherwise every
//! chunk is 5–64 MB, `total_chunk_count = floor(video_size / chunk_size)` and the last chunk
//! takes the trailing bytes (so it may be larger than `chunk_size`, up to 128 MB); 1–1000
//! chunks, uploaded in order. MB here is MiB, the stricter reading.

use serde::Serialize;

const MIB: u64 = 1024 * 1024;
/// Smallest chunk TikTok accepts, except a whole video under it.
pub const MIN_CHUNK: u64 = 5 * MIB;
/// Largest chunk TikTok accepts, the last one excepted.
pub const MAX_CHUNK: u64 = 64 * MIB;
/// Largest last chunk: it also carries the bytes left over.
pub const MAX_LAST_CHUNK: u64 = 128 * MIB;
/// Most chunks one upload may have.
pub const MAX_CHUNKS: u64 = 1000;
/// TikTok's limit for a video posted through the API.
pub const MAX_VIDEO_SIZE: u64 = 4 * 1024 * MIB;
/// The chunk size we choose: TikTok's own example size, small enough that a failed PUT costs
/// little to repeat, large enough that a 4 GB video needs ~410 requests.
pub const PREFERRED_CHUNK: u64 = 10 * MIB;
/// The content types TikTok's upload accepts.
pub const CONTENT_TYPES: [&str; 3] = ["video/mp4", "video/quicktime", "video/webm"];

/// One PUT of the plan: bytes `first_byte..=last_byte`, sent with `Content-Range`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Chunk {
    /// Position in the upload order, from 0.
    pub index: u64,
    /// Offset of the chunk's first byte in the file.
    pub first_byte: u64,
    /// Offset of its last byte, inclusive.
    pub last_byte: u64,
    /// `last_byte - first_byte + 1`: the PUT's `Content-Length`.
    pub size: u64,
    /// The exact `Content-Range` header value for this PUT.
    pub content_range: String,
}

/// The numbers TikTok's init needs, and every chunk the client must PUT, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChunkPlan {
    /// The file's size in bytes, as the client gave it (1 to `MAX_VIDEO_SIZE`).
    pub video_size: u64,
    /// Bytes per chunk: the whole file when it is at most `PREFERRED_CHUNK`, else
    /// `PREFERRED_CHUNK` (the last chunk adds the remainder).
    pub chunk_size: u64,
    /// `floor(video_size / chunk_size)`, as TikTok's init requires.
    pub total_chunk_count: u64,
    /// Every PUT, in order; exactly `total_chunk_count` of them.
    pub chunks: Vec<Chunk>,
}

impl ChunkPlan {
    /// The plan for a video of `video_size` bytes, or why TikTok would refuse the size.
    pub fn for_size(video_size: u64) -> Result<Self, String> {
        if video_size == 0 {
            return Err("source.video_size must be at least 1 byte".into());
        }
        if video_size > MAX_VIDEO_SIZE {
            return Err(format!(
                "source.video_size must be at most {MAX_VIDEO_SIZE} bytes (4 GiB, TikTok's limit)"
            ));
        }
        // Under 5 MB the whole file is one chunk; between 5 and 10 MB too (one legal chunk).
        let chunk_size = video_size.min(PREFERRED_CHUNK);
        let total_chunk_count = video_size / chunk_size;
        let plan = Self {
            video_size,
            chunk_size,
            total_chunk_count,
            chunks: (0..total_chunk_count)
                .map(|index| {
                    let first_byte = index * chunk_size;
                    let last_byte = if index + 1 == total_chunk_count {
                        video_size - 1
                    } else {
                        first_byte + chunk_size - 1
                    };
                    Chunk {
                        index,
                        first_byte,
                        last_byte,
                        size: last_byte - first_byte + 1,
                        content_range: format!("bytes {first_byte}-{last_byte}/{video_size}"),
                    }
                })
                .collect(),
        };
        debug_assert_eq!(plan.check(), Ok(()));
        Ok(plan)
    }

    /// Whether the plan obeys every one of TikTok's rules (what TikTok's init checks).
    pub fn check(&self) -> Result<(), &'static str> {
        let (size, chunk, count) = (self.video_size, self.chunk_size, self.total_chunk_count);
        if chunk == 0 || count == 0 || count > MAX_CHUNKS {
            return Err("1 to 1000 chunks");
        }
        if size < MIN_CHUNK {
            return if chunk == size && count == 1 {
                Ok(())
            } else {
                Err("a video under 5 MB is one chunk of its whole size")
            };
        }
        if !(MIN_CHUNK..=MAX_CHUNK).contains(&chunk) {
            return Err("chunks are 5 to 64 MB");
        }
        if count != size / chunk {
            return Err("total_chunk_count is floor(video_size / chunk_size)");
        }
        if size - (count - 1) * chunk > MAX_LAST_CHUNK {
            return Err("the last chunk is at most 128 MB");
        }
        let contiguous = self.chunks.len() as u64 == count
            && self.chunks.first().is_some_and(|c| c.first_byte == 0)
            && self.chunks.last().is_some_and(|c| c.last_byte == size - 1)
            && self
                .chunks
                .windows(2)
                .all(|w| w[1].first_byte == w[0].last_byte + 1);
        if contiguous {
            Ok(())
        } else {
            Err("chunks cover the file in order")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_file_is_one_whole_chunk() {
        let plan = ChunkPlan::for_size(3 * MIB + 17).expect("plan");
        assert_eq!((plan.chunk_size, plan.total_chunk_count), (3 * MIB + 17, 1));
        assert_eq!(
            plan.chunks[0].content_range,
            format!("bytes 0-{}/{}", 3 * MIB + 16, 3 * MIB + 17)
        );
    }

    #[test]
    fn the_last_chunk_takes_the_trailing_bytes() {
        // TikTok's own example: 50,000,123 bytes in 10,000,000-byte chunks → 5 PUTs, the last
        // one 10,000,123 bytes. Ours uses 10 MiB chunks: 4 chunks, the last one larger.
        let plan = ChunkPlan::for_size(50_000_123).expect("plan");
        assert_eq!(plan.chunk_size, PREFERRED_CHUNK);
        assert_eq!(plan.total_chunk_count, 4);
        let last = plan.chunks.last().expect("chunks");
        assert_eq!(last.size, 50_000_123 - 3 * PREFERRED_CHUNK);
        assert!(last.size > plan.chunk_size);
        assert_eq!(
            last.content_range,
            format!("bytes {}-50000122/50000123", 3 * PREFERRED_CHUNK)
        );
    }

    #[test]
    fn every_size_gets_a_legal_plan() {
        let sizes = [
            1,
            MIN_CHUNK - 1,
            MIN_CHUNK,
            PREFERRED_CHUNK - 1,
            PREFERRED_CHUNK,
            PREFERRED_CHUNK + 1,
            2 * PREFERRED_CHUNK - 1,
            MAX_VIDEO_SIZE - 1,
            MAX_VIDEO_SIZE,
        ];
        for size in sizes {
            let plan = ChunkPlan::for_size(size).expect("plan");
            assert_eq!(plan.check(), Ok(()), "{size}");
            let total: u64 = plan.chunks.iter().map(|c| c.size).sum();
            assert_eq!(total, size);
        }
    }

    #[test]
    fn impossible_sizes_are_refused() {
        assert!(ChunkPlan::for_size(0).is_err());
        assert!(ChunkPlan::for_size(MAX_VIDEO_SIZE + 1).is_err());
    }

    #[test]
    fn the_checker_refuses_what_tiktok_refuses() {
        let mut plan = ChunkPlan::for_size(50_000_123).expect("plan");
        plan.total_chunk_count = 5;
        assert!(plan.check().is_err(), "not the floor");
        let mut tiny = ChunkPlan::for_size(6 * MIB).expect("plan");
        tiny.chunk_size = 4 * MIB;
        tiny.total_chunk_count = 1;
        assert!(tiny.check().is_err(), "chunks under 5 MB");
    }
}
