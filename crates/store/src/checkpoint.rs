//! A checkpoint's byte layout (`checkpoint.bin`): `DDLABCK1`, a u64 header length, the header (JSON, its
//! content the trainer's), the f32 values little-endian, and a SHA-256 of all the bytes before it. A
//! truncated or altered file fails the checksum and is refused.

use sha2::{Digest, Sha256};

const MAGIC: &[u8; 8] = b"DDLABCK1";

/// A checkpoint's bytes from its header and values.
pub fn frame_checkpoint<'a>(header: &[u8], values: impl IntoIterator<Item = &'a f32>, count: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + header.len() + 4 * count + 32);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(header.len() as u64).to_le_bytes());
    out.extend_from_slice(header);
    for v in values {
        out.extend_from_slice(&v.to_le_bytes());
    }
    let digest = Sha256::digest(&out);
    out.extend_from_slice(&digest);
    out
}

/// The header and values of a checkpoint's bytes, verified; any damage is an error saying what.
pub fn unframe_checkpoint(bytes: &[u8]) -> Result<(&[u8], Vec<f32>), String> {
    if bytes.len() < 8 + 8 + 32 || &bytes[..8] != MAGIC {
        return Err("not a ddlab checkpoint (bad magic or too short)".into());
    }
    let (body, digest) = bytes.split_at(bytes.len() - 32);
    if Sha256::digest(body).as_slice() != digest {
        return Err("checksum mismatch (truncated or corrupted checkpoint)".into());
    }
    let header_len = u64::from_le_bytes(body[8..16].try_into().expect("8 bytes")) as usize;
    let header = body.get(16..16 + header_len).ok_or("header length out of range")?;
    let values = body[16 + header_len..].chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes"))).collect();
    Ok((header, values))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_reads_back_and_any_damage_is_refused() {
        let values = [1.5f32, -2.0, 0.25];
        let bytes = frame_checkpoint(b"{\"epoch\":3}", &values, values.len());
        assert_eq!(&bytes[..8], b"DDLABCK1");
        assert_eq!(bytes.len(), 8 + 8 + 11 + 12 + 32);
        let (header, back) = unframe_checkpoint(&bytes).unwrap();
        assert_eq!((header, back.as_slice()), (&b"{\"epoch\":3}"[..], &values[..]));
        for cut in [0, 10, bytes.len() - 1] {
            assert!(unframe_checkpoint(&bytes[..cut]).is_err(), "truncated at {cut}");
        }
        let mut flipped = bytes.clone();
        flipped[20] ^= 1;
        assert!(unframe_checkpoint(&flipped).unwrap_err().contains("checksum"));
    }
}
