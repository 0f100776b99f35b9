//! Minimal hand-written bindings to Debian's libbcg729 1.1 (`/usr/include/bcg729/`
//! `encoder.h`, `decoder.h`): one G.729 Annex A channel per value, Annex B (VAD, SID
//! frames) on request. Every `unsafe` of the gateway's G.729 support is here, so the
//! gateway crate itself keeps `forbid(unsafe_code)`.
//!
//! libbcg729 is GPL-3.0: a binary that links it is GPL-3.0 as distributed.

use std::ptr::NonNull;

/// Octets of a G.729 speech frame (G.729 §3: 80 bits per 10 ms).
pub const FRAME_OCTETS: usize = 10;
/// Samples of a frame (10 ms at 8 kHz).
pub const FRAME_SAMPLES: usize = 80;

#[repr(C)]
struct DecoderCtx {
    _private: [u8; 0],
}

#[repr(C)]
struct EncoderCtx {
    _private: [u8; 0],
}

#[link(name = "bcg729")]
unsafe extern "C" {
    fn initBcg729DecoderChannel() -> *mut DecoderCtx;
    fn closeBcg729DecoderChannel(ctx: *mut DecoderCtx);
    fn bcg729Decoder(
        ctx: *mut DecoderCtx,
        bit_stream: *const u8,
        bit_stream_length: u8,
        frame_erasure_flag: u8,
        sid_frame_flag: u8,
        rfc3389_payload_flag: u8,
        signal: *mut i16,
    );
    fn initBcg729EncoderChannel(enable_vad: u8) -> *mut EncoderCtx;
    fn closeBcg729EncoderChannel(ctx: *mut EncoderCtx);
    fn bcg729Encoder(
        ctx: *mut EncoderCtx,
        input_frame: *const i16,
        bit_stream: *mut u8,
        bit_stream_length: *mut u8,
    );
}

/// What the decoder is given for one 10 ms frame.
#[derive(Debug, Clone, Copy)]
pub enum Frame<'a> {
    /// A 10-octet speech frame.
    Speech(&'a [u8; FRAME_OCTETS]),
    /// A 2-octet Annex B SID frame (comfort noise parameters).
    Sid(&'a [u8; 2]),
    /// A lost frame: conceal it (G.729 §4.4).
    Erased,
}

/// A decoder channel.
pub struct Decoder {
    ctx: NonNull<DecoderCtx>,
}

// SAFETY: the context is heap state owned by this value alone; libbcg729 has no global
// or thread-local state, so the value may move between threads.
unsafe impl Send for Decoder {}

impl Decoder {
    /// A decoder in its initial state, or `None` if the library could not allocate one.
    pub fn new() -> Option<Self> {
        // SAFETY: no arguments; returns an owned context or null.
        NonNull::new(unsafe { initBcg729DecoderChannel() }).map(|ctx| Decoder { ctx })
    }

    /// Decodes one frame into 80 samples.
    pub fn decode(&mut self, frame: Frame<'_>, out: &mut [i16; FRAME_SAMPLES]) {
        let none = [0u8; FRAME_OCTETS];
        let (bits, len, erasure, sid): (&[u8], u8, u8, u8) = match frame {
            Frame::Speech(b) => (b, 10, 0, 0),
            Frame::Sid(b) => (b, 2, 0, 1),
            Frame::Erased => (&none, 10, 1, 0),
        };
        // SAFETY: `bits` holds `len` octets, all the decoder reads for this kind of
        // frame; `out` holds the 80 samples it writes; the context is ours and live.
        unsafe {
            bcg729Decoder(
                self.ctx.as_ptr(),
                bits.as_ptr(),
                len,
                erasure,
                sid,
                0,
                out.as_mut_ptr(),
            );
        }
    }
}

impl Drop for Decoder {
    fn drop(&mut self) {
        // SAFETY: the context came from initBcg729DecoderChannel and is closed once.
        unsafe { closeBcg729DecoderChannel(self.ctx.as_ptr()) }
    }
}

/// An encoder channel.
pub struct Encoder {
    ctx: NonNull<EncoderCtx>,
}

// SAFETY: as for `Decoder`.
unsafe impl Send for Encoder {}

impl Encoder {
    /// An encoder; `vad` turns Annex B on (silence gives SID frames or nothing).
    pub fn new(vad: bool) -> Option<Self> {
        // SAFETY: plain flag argument; returns an owned context or null.
        NonNull::new(unsafe { initBcg729EncoderChannel(u8::from(vad)) }).map(|ctx| Encoder { ctx })
    }

    /// Encodes 80 samples into `out`; returns the octets written: 10 (speech), 2 (SID)
    /// or 0 (nothing to send, Annex B).
    pub fn encode(&mut self, pcm: &[i16; FRAME_SAMPLES], out: &mut [u8; FRAME_OCTETS]) -> usize {
        let mut len = 0u8;
        // SAFETY: `pcm` holds the 80 samples read, `out` the at most 10 octets written,
        // `len` is a valid out pointer; the context is ours and live.
        unsafe { bcg729Encoder(self.ctx.as_ptr(), pcm.as_ptr(), out.as_mut_ptr(), &mut len) };
        usize::from(len).min(FRAME_OCTETS)
    }
}

impl Drop for Encoder {
    fn drop(&mut self) {
        // SAFETY: the context came from initBcg729EncoderChannel and is closed once.
        unsafe { closeBcg729EncoderChannel(self.ctx.as_ptr()) }
    }
}
