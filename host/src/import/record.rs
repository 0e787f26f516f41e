//! Reading raw CSV records with bounded memory and exact line numbers.
//!
//! This sits on `csv-core` rather than `csv::Reader` for two reasons:
//! - `csv::Reader` grows a record's buffer to whatever a field holds, so one
//!   unclosed quote near the top of a large file makes it buffer the rest of
//!   the file as a single field. Here a field past the limit is counted but
//!   not kept, and so are columns past [`MAX_COLUMNS`], so memory stays
//!   bounded by the limits whatever the input;
//! - `csv::Reader` reports the line just after the previous record, which is
//!   wrong when blank lines sit between records. Here blank lines are
//!   skipped before a record starts, so its line is the physical line of its
//!   first byte.

use std::io::{self, Read};

use csv_core::{ReadRecordResult, Reader as CoreReader, ReaderBuilder as CoreBuilder};

/// Most columns a record may have. Real exports stay in the low hundreds;
/// the cap bounds memory together with the per-field limit.
pub const MAX_COLUMNS: usize = 1000;

/// The input buffer: large enough that reading is not syscall-bound.
const INPUT_BUFFER_BYTES: usize = 256 * 1024;

/// The first output allocation for a record; it grows as fields need.
const INITIAL_RECORD_BYTES: usize = 4 * 1024;

/// What made a record too big to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overflow {
    /// Field `column` (0-based) holds `bytes` bytes, past the field limit.
    Field {
        /// 0-based column.
        column: usize,
        /// The field's full size.
        bytes: usize,
    },
    /// The record has more than [`MAX_COLUMNS`] fields (`count` in all).
    Columns {
        /// How many fields the record has.
        count: usize,
    },
}

/// One record: its fields' bytes, where it starts, and whether it was too
/// big to keep (then its fields are not available).
#[derive(Debug, Default)]
pub struct RawRecord {
    out: Vec<u8>,
    ends: Vec<usize>,
    len: usize,
    line: u64,
    overflow: Option<Overflow>,
}

impl RawRecord {
    /// The physical line (1-based) of the record's first byte.
    pub fn line(&self) -> u64 {
        self.line
    }

    /// Why the record was not kept, if it was not.
    pub fn overflow(&self) -> Option<Overflow> {
        self.overflow
    }

    /// How many fields the record has (0 when it overflowed).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Field `index`, or `None` past the end.
    pub fn get(&self, index: usize) -> Option<&[u8]> {
        if index >= self.len {
            return None;
        }
        let start = if index == 0 { 0 } else { self.ends[index - 1] };
        self.out.get(start..self.ends[index])
    }

    /// All fields in order.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> {
        (0..self.len).filter_map(|i| self.get(i))
    }
}

/// Reads [`RawRecord`]s from any `Read`, one at a time.
pub struct RecordReader<R> {
    input: R,
    core: CoreReader,
    buf: Box<[u8]>,
    pos: usize,
    filled: usize,
    eof: bool,
    started: bool,
    consumed: u64,
    max_field_bytes: usize,
}

impl<R: Read> RecordReader<R> {
    /// A reader splitting fields on `delimiter`, keeping fields up to
    /// `max_field_bytes`.
    pub fn new(input: R, delimiter: u8, max_field_bytes: usize) -> Self {
        Self {
            input,
            core: CoreBuilder::new().delimiter(delimiter).build(),
            buf: vec![0; INPUT_BUFFER_BYTES].into_boxed_slice(),
            pos: 0,
            filled: 0,
            eof: false,
            started: false,
            consumed: 0,
            max_field_bytes,
        }
    }

    /// Bytes consumed from the input so far.
    pub fn bytes_read(&self) -> u64 {
        self.consumed
    }

    /// Refills the buffer once it is used up; sets `eof` at the end.
    fn fill(&mut self) -> io::Result<()> {
        if self.pos < self.filled || self.eof {
            return Ok(());
        }
        loop {
            match self.input.read(&mut self.buf) {
                Ok(0) => {
                    self.eof = true;
                    self.pos = 0;
                    self.filled = 0;
                    return Ok(());
                }
                Ok(n) => {
                    self.pos = 0;
                    self.filled = n;
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    fn advance(&mut self, n: usize) {
        self.pos += n;
        self.consumed += n as u64;
    }

    /// Skips a UTF-8 byte-order mark at the very start, even when the first
    /// read returns fewer than its three bytes.
    fn skip_bom(&mut self) -> io::Result<()> {
        const BOM: &[u8] = b"\xEF\xBB\xBF";
        self.fill()?;
        // Only called before anything was consumed, so the buffer is read
        // from its start and has room to top up.
        while !self.eof && self.filled - self.pos < BOM.len() {
            match self.input.read(&mut self.buf[self.filled..]) {
                Ok(0) => break,
                Ok(n) => self.filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if self.buf[self.pos..self.filled].starts_with(BOM) {
            self.advance(BOM.len());
        }
        Ok(())
    }

    /// Skips blank lines before a record, counting them as lines.
    fn skip_blank_lines(&mut self) -> io::Result<()> {
        loop {
            self.fill()?;
            if self.eof {
                return Ok(());
            }
            match self.buf[self.pos] {
                b'\n' => self.core.set_line(self.core.line() + 1),
                b'\r' => {}
                _ => return Ok(()),
            }
            self.advance(1);
        }
    }

    /// Reads the next record into `record`; `false` at the end of input.
    pub fn read(&mut self, record: &mut RawRecord) -> io::Result<bool> {
        if !self.started {
            self.started = true;
            self.skip_bom()?;
        }
        self.skip_blank_lines()?;
        if self.eof {
            return Ok(false);
        }
        record.line = self.core.line();
        record.overflow = None;
        record.len = 0;
        if record.out.is_empty() {
            record.out.resize(INITIAL_RECORD_BYTES, 0);
        }
        if record.ends.is_empty() {
            record.ends.resize(16, 0);
        }

        let limit = self.max_field_bytes;
        let (mut outlen, mut endlen, mut fields_total) = (0usize, 0usize, 0usize);
        // Once a record is known to be too big its bytes are not kept: the
        // output and ends buffers become scratch space while the parser
        // looks for the record's end.
        let mut discarding = false;
        let mut overflow = None;
        // A field found too big while still being read: (column, start
        // offset); its size is known when its end arrives.
        let mut growing: Option<(usize, usize)> = None;
        loop {
            self.fill()?;
            let (res, nin, nout, nend) = self.core.read_record(
                &self.buf[self.pos..self.filled],
                &mut record.out[outlen..],
                &mut record.ends[endlen..],
            );
            self.advance(nin);
            // Offsets in `ends` count every byte of the record, kept or not.
            if let Some((column, start)) = growing.take_if(|_| nend > 0) {
                overflow = Some(Overflow::Field {
                    column,
                    bytes: record.ends[endlen] - start,
                });
            }
            if !discarding {
                // The first completed field past the limit, if any.
                let too_large = (endlen..endlen + nend).find_map(|i| {
                    let start = if i == 0 { 0 } else { record.ends[i - 1] };
                    let bytes = record.ends[i] - start;
                    (bytes > limit).then_some(Overflow::Field { column: i, bytes })
                });
                if too_large.is_some() {
                    overflow = too_large;
                    discarding = true;
                }
            }
            outlen += nout;
            endlen += nend;
            fields_total += nend;
            match res {
                ReadRecordResult::InputEmpty => {}
                ReadRecordResult::OutputFull if discarding => outlen = 0,
                ReadRecordResult::OutputFull => {
                    let start = if endlen == 0 { 0 } else { record.ends[endlen - 1] };
                    if outlen - start > limit {
                        growing = Some((fields_total, start));
                        discarding = true;
                        outlen = 0;
                    } else {
                        let grown = record.out.len() * 2;
                        record.out.resize(grown, 0);
                    }
                }
                ReadRecordResult::OutputEndsFull if discarding || record.ends.len() >= MAX_COLUMNS => {
                    if overflow.is_none() && growing.is_none() {
                        discarding = true;
                    }
                    endlen = 0;
                }
                ReadRecordResult::OutputEndsFull => {
                    let grown = (record.ends.len() * 2).min(MAX_COLUMNS);
                    record.ends.resize(grown, 0);
                }
                ReadRecordResult::Record => {
                    record.overflow = match overflow {
                        Some(o) => Some(o),
                        None if discarding => Some(Overflow::Columns { count: fields_total }),
                        None => None,
                    };
                    record.len = if discarding { 0 } else { endlen };
                    return Ok(true);
                }
                ReadRecordResult::End => return Ok(false),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny deterministic generator, so failures reproduce.
    struct Lcg(u64);

    impl Lcg {
        fn below(&mut self, n: usize) -> usize {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((self.0 >> 33) as usize) % n
        }
    }

    /// Random CSV text with quoting, embedded separators and line breaks,
    /// CRLF, blank lines, multi-byte text and fields past 4 KiB.
    fn random_csv(rng: &mut Lcg) -> Vec<u8> {
        let pieces: [&[u8]; 9] = [
            b"a",
            b"xyz",
            b",",
            b"\n",
            b"\r\n",
            b"\"",
            b"\"\"",
            "ü€".as_bytes(),
            b" ",
        ];
        let mut out = Vec::new();
        for _ in 0..rng.below(40) {
            if rng.below(50) == 0 {
                out.extend(std::iter::repeat_n(b'L', 4000 + rng.below(9000)));
            }
            out.extend_from_slice(pieces[rng.below(pieces.len())]);
        }
        out
    }

    fn ours(input: &[u8]) -> Vec<Vec<Vec<u8>>> {
        let mut reader = RecordReader::new(input, b',', usize::MAX);
        let mut record = RawRecord::default();
        let mut rows = Vec::new();
        while reader.read(&mut record).unwrap() {
            rows.push(record.iter().map(<[u8]>::to_vec).collect());
        }
        rows
    }

    fn csv_crate(input: &[u8]) -> Vec<Vec<Vec<u8>>> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(input);
        reader
            .byte_records()
            .map(|r| r.unwrap().iter().map(<[u8]>::to_vec).collect())
            .collect()
    }

    #[test]
    fn records_match_the_csv_crate_on_random_input() {
        let mut rng = Lcg(7);
        for _ in 0..3000 {
            let input = random_csv(&mut rng);
            assert!(
                ours(&input) == csv_crate(&input),
                "{:?}",
                String::from_utf8_lossy(&input[..input.len().min(300)])
            );
        }
    }

    #[test]
    fn oversized_fields_are_reported_exactly_as_the_csv_crate_sees_them() {
        let limit = 5000;
        let mut rng = Lcg(11);
        for _ in 0..3000 {
            let input = random_csv(&mut rng);
            let expected: Vec<_> = csv_crate(&input)
                .into_iter()
                .map(|row| match row.iter().position(|f| f.len() > limit) {
                    Some(column) => Err(Overflow::Field {
                        column,
                        bytes: row[column].len(),
                    }),
                    None => Ok(row),
                })
                .collect();
            let mut reader = RecordReader::new(&input[..], b',', limit);
            let mut record = RawRecord::default();
            let mut got = Vec::new();
            while reader.read(&mut record).unwrap() {
                got.push(match record.overflow() {
                    Some(overflow) => Err(overflow),
                    None => Ok(record.iter().map(<[u8]>::to_vec).collect()),
                });
            }
            assert_eq!(
                got,
                expected,
                "{:?}",
                String::from_utf8_lossy(&input[..input.len().min(300)])
            );
        }
    }

    #[test]
    fn bytes_read_counts_the_whole_input() {
        let input = b"a,b\r\n\r\n\"c\nd\",e";
        let mut reader = RecordReader::new(&input[..], b',', usize::MAX);
        let mut record = RawRecord::default();
        while reader.read(&mut record).unwrap() {}
        assert_eq!(reader.bytes_read(), input.len() as u64);
    }
}
