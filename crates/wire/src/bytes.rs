//! Byte-level helpers shared by the views. Each protocol module has its own `field` module of
//! fixed offsets, written with the [`Field`] and [`Rest`] types defined here.

/// A fixed-size field: `start..end` bytes from the start of its header.
pub type Field = core::ops::Range<usize>;
/// The rest of the buffer from a fixed offset (a header's payload).
pub type Rest = core::ops::RangeFrom<usize>;

/// Big-endian u16 at `at`. Callers have checked the length (`check_len`).
#[inline]
pub(crate) fn read_u16(data: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([data[at], data[at + 1]])
}

/// Big-endian u32 at `at`. Callers have checked the length (`check_len`).
#[inline]
pub(crate) fn read_u32(data: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]])
}

/// Writes `value` big-endian at `at`.
#[inline]
pub(crate) fn write_u16(data: &mut [u8], at: usize, value: u16) {
    data[at..at + 2].copy_from_slice(&value.to_be_bytes());
}

/// Writes `value` big-endian at `at`.
#[inline]
pub(crate) fn write_u32(data: &mut [u8], at: usize, value: u32) {
    data[at..at + 4].copy_from_slice(&value.to_be_bytes());
}

/// Copies a fixed-size field out as an array.
#[inline]
pub(crate) fn read_array<const N: usize>(data: &[u8], at: usize) -> [u8; N] {
    let mut out = [0; N];
    out.copy_from_slice(&data[at..at + N]);
    out
}

/// Implements the constructors every view shares, smoltcp style: `new_unchecked` wraps any
/// buffer (accessors may then panic on short input), `new_checked` wraps only buffers that pass
/// the view's `check_len` (accessors then never panic).
macro_rules! view_constructors {
    ($view:ident) => {
        impl<T: AsRef<[u8]>> $view<T> {
            /// Wraps `buffer` without checking its length. Accessors panic if it is too short;
            /// use [`Self::new_checked`] for untrusted input.
            pub const fn new_unchecked(buffer: T) -> Self {
                Self { buffer }
            }

            /// Wraps `buffer` after [`Self::check_len`] confirmed every accessor stays in bounds.
            pub fn new_checked(buffer: T) -> $crate::Result<Self> {
                let view = Self::new_unchecked(buffer);
                view.check_len()?;
                Ok(view)
            }

            /// Gives the buffer back.
            pub fn into_inner(self) -> T {
                self.buffer
            }
        }

        impl<T: AsRef<[u8]>> AsRef<[u8]> for $view<T> {
            fn as_ref(&self) -> &[u8] {
                self.buffer.as_ref()
            }
        }
    };
}
pub(crate) use view_constructors;
