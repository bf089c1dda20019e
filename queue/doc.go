// Package queue is a durable, bounded FIFO of opaque records on disk, with
// concurrent producers and one consumer. The gateway stores each request in
// it before it responds to the client, and delivers from it.
//
// # Durability contract
//
//   - Append returns nil only after its records are written and fsynced.
//     Concurrent Appends share one fsync (group commit).
//   - After a crash (kill -9, or power loss on storage that honours fsync),
//     the reopened queue delivers every record whose Append returned nil
//     and that was not acknowledged, in append order. Delivery is at least once: records after the last Ack
//     are delivered again, and records of an Append that returned an error
//     or never returned may also be delivered.
//   - Ack returns after the new consumer position is fsynced, so
//     acknowledged records are not delivered again.
//   - Append returns ErrFull instead of blocking or dropping when the
//     segment files would exceed Options.MaxBytes.
//   - A torn record at the end of the newest segment, the trace of a crash
//     during a write, is truncated away by Open and listed by
//     Queue.Repairs. Damage anywhere else is a *CorruptError naming the
//     file and offset, from Open or Next; it is never skipped.
//   - Options.NoSync removes every fsync; records then survive a crash of
//     the process but not of the machine.
//
// NOTE: the tests kill the process (SIGKILL) and damage files by hand; they
// do not cut power, so the power-loss case rests on fsync doing its job.
//
// Memory stays bounded: Next reads records from the segment files, and the
// queue keeps only per-segment sizes in memory.
//
// # On-disk format
//
// The directory holds segment files, a position file and a LOCK file
// (flock, so only one Queue opens the directory at a time). All integers
// are little endian, and every checksum is CRC-32C (Castagnoli).
//
// A segment file is named after its id, 20 decimal digits and ".seg"
// (00000000000000000001.seg). Ids increase by one. A segment starts with
// the 8-byte magic "MIGQSEG\x01" followed by records:
//
//	offset size field
//	0      4    payload length
//	4      8    append time, Unix nanoseconds
//	12     4    checksum of the payload
//	16     4    checksum of bytes 0-15 of this header
//	20     n    payload
//
// A new segment starts when the next record would take the current one past
// Options.SegmentBytes. Only the newest segment is written to. It is
// fsynced before the next one is created, so older segments are complete.
//
// The position file "position" holds the consumer position, 36 bytes: the
// magic "MIGQPOS\x01", the segment id, the byte offset in that segment and
// the sequence number of the first unacknowledged record (uint64 each),
// and a checksum of the preceding 32 bytes. Ack replaces it atomically
// (write "position.tmp", fsync, rename, fsync the directory), then deletes
// the segments wholly before the position. Open deletes any such segment
// that a crash left behind. When every record is acknowledged, Open starts a
// new segment and deletes the old ones.
//
// Open treats a bad record in the newest segment as a torn tail, and
// truncates it, when fewer bytes than a header remain, when a valid header
// announces more bytes than the file holds, or when a checksum fails and no
// record with valid checksums starts at any later offset of the file. A bad
// record followed by a valid one is corruption.
package queue
