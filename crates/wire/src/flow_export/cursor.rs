//! A write cursor over a byte buffer. The encoder checks the space a whole record or set needs
//! before writing it, so the puts here only ever see room.

/// Appends big-endian values to a buffer from a position.
#[derive(Debug)]
pub(crate) struct Cursor<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    /// A cursor writing `buf` from its start.
    pub fn new(buf: &'a mut [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    /// Bytes written so far (the position of the next write).
    pub const fn pos(&self) -> usize {
        self.pos
    }

    pub fn put_bytes(&mut self, bytes: &[u8]) {
        self.buf[self.pos..self.pos + bytes.len()].copy_from_slice(bytes);
        self.pos += bytes.len();
    }

    pub fn put_u8(&mut self, value: u8) {
        self.put_bytes(&[value]);
    }

    pub fn put_u16(&mut self, value: u16) {
        self.put_bytes(&value.to_be_bytes());
    }

    pub fn put_u32(&mut self, value: u32) {
        self.put_bytes(&value.to_be_bytes());
    }

    pub fn put_u64(&mut self, value: u64) {
        self.put_bytes(&value.to_be_bytes());
    }

    /// `n` zero bytes.
    pub fn put_zeros(&mut self, n: usize) {
        self.buf[self.pos..self.pos + n].fill(0);
        self.pos += n;
    }

    /// Zero bytes up to the next multiple of four: set padding (RFC 7011 section 3.3.1, RFC 3954
    /// section 5.3).
    pub fn pad_to_4(&mut self) {
        self.put_zeros(self.pos.next_multiple_of(4) - self.pos);
    }

    /// Overwrites the u16 at `at`, before the cursor: a length or count known only at the end.
    pub fn patch_u16(&mut self, at: usize, value: u16) {
        self.buf[at..at + 2].copy_from_slice(&value.to_be_bytes());
    }

    /// The whole buffer, for writing a header over its reserved start.
    pub fn buf_mut(&mut self) -> &mut [u8] {
        self.buf
    }
}
