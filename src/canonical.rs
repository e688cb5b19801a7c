//! Canonical JSON: one byte form for a JSON value, so a digest or MAC over it does not
//! depend on field order or whitespace. The plan's digest and the journal's chain MACs
//! are computed over this form.
//!
//! It sits at the bottom of the module tree (it imports nothing of the crate) so that
//! both `plan` and `journal` can use it without one depending on the other.
//!
//! Two writers give the same bytes: `canonical_json` over a `serde_json::Value`, and
//! `canonical_bytes` straight from any `Serialize` type, which builds no `Value` tree (a
//! plan of 50,000 steps is hundreds of thousands of small allocations as a tree). The
//! form is the `Value` one: keys sorted by their bytes at every depth, no whitespace,
//! strings and numbers as serde_json writes them, an `f32` widened to `f64` first (as
//! `serde_json::to_value` does), a repeated key kept once with its last value.

use serde::ser::{self, Serialize};

/// Writes JSON with object keys sorted and no whitespace: the form digests and MACs are over.
pub fn canonical_json(v: &serde_json::Value) -> String {
    let mut out = String::new();
    write_canonical(v, &mut out);
    out
}

/// `canonical_json` into one buffer: each value is appended where it goes, so a large
/// document (a plan of 50,000 steps) is not rebuilt level by level in fresh strings.
fn write_canonical(v: &serde_json::Value, out: &mut String) {
    match v {
        serde_json::Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::to_string(k).unwrap());
                out.push(':');
                write_canonical(&m[*k], out);
            }
            out.push('}');
        }
        serde_json::Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(x, out);
            }
            out.push(']');
        }
        other => out.push_str(&serde_json::to_string(other).unwrap()),
    }
}

/// The canonical JSON of `value`, written without building a `serde_json::Value`: the
/// same bytes as `canonical_json(&serde_json::to_value(value)?)`.
pub fn canonical_bytes<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, serde_json::Error> {
    let mut out = Vec::new();
    value.serialize(Canon {
        out: &mut out,
        replace: None,
    })?;
    Ok(out)
}

/// `canonical_bytes` of an object whose top-level field `key` is written as `with` (a
/// string) instead of its value: a document hashed with its own digest field emptied,
/// without copying the document. Fields below the top level are left as they are.
pub fn canonical_bytes_replacing<T: Serialize + ?Sized>(
    value: &T,
    key: &str,
    with: &str,
) -> Result<Vec<u8>, serde_json::Error> {
    let with = serde_json::to_vec(with)?;
    let mut out = Vec::new();
    value.serialize(Canon {
        out: &mut out,
        replace: Some((key, &with)),
    })?;
    Ok(out)
}

/// Writes one value in canonical form at the end of `out`.
struct Canon<'a> {
    out: &'a mut Vec<u8>,
    /// A top-level field written with other bytes (see `canonical_bytes_replacing`).
    replace: Option<(&'a str, &'a [u8])>,
}

impl Canon<'_> {
    fn json<T: Serialize + ?Sized>(self, v: &T) -> Result<(), serde_json::Error> {
        serde_json::to_writer(&mut *self.out, v)
    }
}

/// An array being written: `[` is out, elements follow with commas.
struct Seq<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
    /// `Some` for a variant written as `{"Variant":[...]}`: one `}` to close.
    close_variant: bool,
}

/// An object being collected: its entries, each key raw and its value in canonical form,
/// sorted when it ends.
struct Obj<'a> {
    out: &'a mut Vec<u8>,
    entries: Vec<(String, Vec<u8>)>,
    pending_key: Option<String>,
    close_variant: bool,
    replace: Option<(&'a str, &'a [u8])>,
}

fn value_bytes<T: Serialize + ?Sized>(v: &T) -> Result<Vec<u8>, serde_json::Error> {
    canonical_bytes(v)
}

/// A map key as `serde_json::to_value` makes it: a string, or a number or bool as text.
fn key_string<T: Serialize + ?Sized>(key: &T) -> Result<String, serde_json::Error> {
    match serde_json::to_value(key)? {
        serde_json::Value::String(s) => Ok(s),
        serde_json::Value::Number(n) => Ok(n.to_string()),
        serde_json::Value::Bool(b) => Ok(b.to_string()),
        _ => Err(ser::Error::custom("key must be a string")),
    }
}

impl Obj<'_> {
    fn finish(self) -> Result<(), serde_json::Error> {
        let mut entries = self.entries;
        if let Some((key, with)) = self.replace {
            for e in entries.iter_mut().filter(|e| e.0 == key) {
                e.1 = with.to_vec();
            }
        }
        // Stable: of equal keys the last written stays last, and is the one kept.
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let mut kept: Vec<(String, Vec<u8>)> = Vec::with_capacity(entries.len());
        for e in entries {
            match kept.last_mut() {
                Some(last) if last.0 == e.0 => *last = e,
                _ => kept.push(e),
            }
        }
        self.out.push(b'{');
        for (i, (k, v)) in kept.iter().enumerate() {
            if i > 0 {
                self.out.push(b',');
            }
            serde_json::to_writer(&mut *self.out, k)?;
            self.out.push(b':');
            self.out.extend_from_slice(v);
        }
        self.out.push(b'}');
        if self.close_variant {
            self.out.push(b'}');
        }
        Ok(())
    }
}

fn open_variant(out: &mut Vec<u8>, variant: &str) -> Result<(), serde_json::Error> {
    out.push(b'{');
    serde_json::to_writer(&mut *out, variant)?;
    out.push(b':');
    Ok(())
}

impl<'a> ser::Serializer for Canon<'a> {
    type Ok = ();
    type Error = serde_json::Error;
    type SerializeSeq = Seq<'a>;
    type SerializeTuple = Seq<'a>;
    type SerializeTupleStruct = Seq<'a>;
    type SerializeTupleVariant = Seq<'a>;
    type SerializeMap = Obj<'a>;
    type SerializeStruct = Obj<'a>;
    type SerializeStructVariant = Obj<'a>;

    fn serialize_bool(self, v: bool) -> Result<(), Self::Error> {
        self.json(&v)
    }
    fn serialize_i8(self, v: i8) -> Result<(), Self::Error> {
        self.json(&v)
    }
    fn serialize_i16(self, v: i16) -> Result<(), Self::Error> {
        self.json(&v)
    }
    fn serialize_i32(self, v: i32) -> Result<(), Self::Error> {
        self.json(&v)
    }
    fn serialize_i64(self, v: i64) -> Result<(), Self::Error> {
        self.json(&v)
    }
    fn serialize_i128(self, v: i128) -> Result<(), Self::Error> {
        self.json(&serde_json::to_value(v)?)
    }
    fn serialize_u8(self, v: u8) -> Result<(), Self::Error> {
        self.json(&v)
    }
    fn serialize_u16(self, v: u16) -> Result<(), Self::Error> {
        self.json(&v)
    }
    fn serialize_u32(self, v: u32) -> Result<(), Self::Error> {
        self.json(&v)
    }
    fn serialize_u64(self, v: u64) -> Result<(), Self::Error> {
        self.json(&v)
    }
    fn serialize_u128(self, v: u128) -> Result<(), Self::Error> {
        self.json(&serde_json::to_value(v)?)
    }
    fn serialize_f32(self, v: f32) -> Result<(), Self::Error> {
        self.json(&f64::from(v))
    }
    fn serialize_f64(self, v: f64) -> Result<(), Self::Error> {
        self.json(&v)
    }
    fn serialize_char(self, v: char) -> Result<(), Self::Error> {
        self.json(&v)
    }
    fn serialize_str(self, v: &str) -> Result<(), Self::Error> {
        self.json(v)
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Self::Error> {
        self.json(v)
    }
    fn serialize_none(self) -> Result<(), Self::Error> {
        self.json(&())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Self::Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Self::Error> {
        self.json(&())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Self::Error> {
        self.json(&())
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), Self::Error> {
        self.json(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), Self::Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Self::Error> {
        open_variant(self.out, variant)?;
        value.serialize(Canon {
            out: self.out,
            replace: None,
        })?;
        self.out.push(b'}');
        Ok(())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Seq<'a>, Self::Error> {
        self.out.push(b'[');
        Ok(Seq {
            out: self.out,
            first: true,
            close_variant: false,
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<Seq<'a>, Self::Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<Seq<'a>, Self::Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Seq<'a>, Self::Error> {
        open_variant(self.out, variant)?;
        self.out.push(b'[');
        Ok(Seq {
            out: self.out,
            first: true,
            close_variant: true,
        })
    }
    fn serialize_map(self, len: Option<usize>) -> Result<Obj<'a>, Self::Error> {
        Ok(Obj {
            out: self.out,
            entries: Vec::with_capacity(len.unwrap_or(0)),
            pending_key: None,
            close_variant: false,
            replace: self.replace,
        })
    }
    fn serialize_struct(self, _: &'static str, len: usize) -> Result<Obj<'a>, Self::Error> {
        self.serialize_map(Some(len))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Obj<'a>, Self::Error> {
        open_variant(self.out, variant)?;
        Ok(Obj {
            out: self.out,
            entries: Vec::with_capacity(len),
            pending_key: None,
            close_variant: true,
            replace: None,
        })
    }
}

impl Seq<'_> {
    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), serde_json::Error> {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        value.serialize(Canon {
            out: self.out,
            replace: None,
        })
    }
    fn close(self) -> Result<(), serde_json::Error> {
        self.out.push(b']');
        if self.close_variant {
            self.out.push(b'}');
        }
        Ok(())
    }
}

impl ser::SerializeSeq for Seq<'_> {
    type Ok = ();
    type Error = serde_json::Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Self::Error> {
        self.element(v)
    }
    fn end(self) -> Result<(), Self::Error> {
        self.close()
    }
}

impl ser::SerializeTuple for Seq<'_> {
    type Ok = ();
    type Error = serde_json::Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Self::Error> {
        self.element(v)
    }
    fn end(self) -> Result<(), Self::Error> {
        self.close()
    }
}

impl ser::SerializeTupleStruct for Seq<'_> {
    type Ok = ();
    type Error = serde_json::Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Self::Error> {
        self.element(v)
    }
    fn end(self) -> Result<(), Self::Error> {
        self.close()
    }
}

impl ser::SerializeTupleVariant for Seq<'_> {
    type Ok = ();
    type Error = serde_json::Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Self::Error> {
        self.element(v)
    }
    fn end(self) -> Result<(), Self::Error> {
        self.close()
    }
}

impl ser::SerializeMap for Obj<'_> {
    type Ok = ();
    type Error = serde_json::Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Self::Error> {
        self.pending_key = Some(key_string(key)?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Self::Error> {
        let key = self
            .pending_key
            .take()
            .ok_or_else(|| <serde_json::Error as ser::Error>::custom("value without a key"))?;
        self.entries.push((key, value_bytes(v)?));
        Ok(())
    }
    fn end(self) -> Result<(), Self::Error> {
        self.finish()
    }
}

impl ser::SerializeStruct for Obj<'_> {
    type Ok = ();
    type Error = serde_json::Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        v: &T,
    ) -> Result<(), Self::Error> {
        self.entries.push((key.to_string(), value_bytes(v)?));
        Ok(())
    }
    fn end(self) -> Result<(), Self::Error> {
        self.finish()
    }
}

impl ser::SerializeStructVariant for Obj<'_> {
    type Ok = ();
    type Error = serde_json::Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        v: &T,
    ) -> Result<(), Self::Error> {
        self.entries.push((key.to_string(), value_bytes(v)?));
        Ok(())
    }
    fn end(self) -> Result<(), Self::Error> {
        self.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The byte form every digest and MAC of earlier versions was made over: keys
    /// sorted at every depth, no whitespace, strings escaped as serde_json does.
    #[test]
    fn the_canonical_form_is_unchanged() {
        let v = serde_json::json!({
            "b": [1, {"z": null, "a": "x\"y"}, []],
            "a": {"d": true, "c": 1.5},
            "é": "\u{1b}"
        });
        assert_eq!(
            canonical_json(&v),
            r#"{"a":{"c":1.5,"d":true},"b":[1,{"a":"x\"y","z":null},[]],"é":"\u001b"}"#
        );
    }

    #[derive(serde::Serialize)]
    #[serde(rename_all = "kebab-case")]
    enum Shape {
        Unit,
        New(u32),
        Tuple(i8, String),
        Fields { z: bool, a: Option<f32> },
    }

    #[derive(serde::Serialize)]
    #[serde(tag = "kind")]
    enum Tagged {
        Key { id: String, zeta: u64 },
    }

    #[derive(serde::Serialize)]
    struct Inner {
        zz: f64,
        #[serde(skip_serializing_if = "Option::is_none")]
        gone: Option<u8>,
        aa: Vec<Shape>,
    }

    #[derive(serde::Serialize)]
    struct Doc {
        version: u32,
        digest: String,
        name: String,
        #[serde(flatten)]
        extra: std::collections::BTreeMap<String, i64>,
        map: std::collections::HashMap<u16, &'static str>,
        tagged: Tagged,
        inner: Inner,
        bytes: serde_bytes_like::Bytes,
        unit: (),
        ch: char,
        big: u128,
    }

    mod serde_bytes_like {
        /// Serializes through `serialize_bytes`.
        pub struct Bytes(pub Vec<u8>);
        impl serde::Serialize for Bytes {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_bytes(&self.0)
            }
        }
    }

    fn doc() -> Doc {
        Doc {
            version: 3,
            digest: "sha256:abc".into(),
            name: "é\u{1b}\"<x>\u{2028}".into(),
            extra: [("b-extra".to_string(), -1), ("a-extra".to_string(), 7)].into(),
            map: [(10, "ten"), (9, "nine"), (100, "hundred")].into(),
            tagged: Tagged::Key {
                id: "k".into(),
                zeta: u64::MAX,
            },
            inner: Inner {
                zz: 0.1,
                gone: None,
                aa: vec![
                    Shape::Unit,
                    Shape::New(4),
                    Shape::Tuple(-3, "t".into()),
                    Shape::Fields {
                        z: true,
                        a: Some(0.1),
                    },
                    Shape::Fields { z: false, a: None },
                ],
            },
            bytes: serde_bytes_like::Bytes(vec![0, 255]),
            unit: (),
            ch: 'q',
            big: 12345678901234567890,
        }
    }

    /// The typed writer gives the bytes of the `Value` writer, over every serde shape the
    /// crate's documents use (structs, flatten, maps with number keys, every enum form,
    /// f32 widened, skipped fields, escapes): a plan's digest did not change with it.
    #[test]
    fn the_typed_writer_gives_the_value_writers_bytes() {
        let d = doc();
        let via_value = canonical_json(&serde_json::to_value(&d).unwrap());
        let typed = String::from_utf8(canonical_bytes(&d).unwrap()).unwrap();
        assert_eq!(typed, via_value);
        assert!(
            typed.starts_with(
                r#"{"a-extra":7,"b-extra":-1,"big":12345678901234567890,"bytes":[0,255]"#
            ),
            "{typed}"
        );
    }

    /// Replacing the top-level digest equals emptying it in the `Value`, and leaves a
    /// nested field of the same name alone.
    #[test]
    fn replacing_a_top_level_field_equals_emptying_it_in_the_value() {
        let d = doc();
        let mut v = serde_json::to_value(&d).unwrap();
        v["digest"] = serde_json::Value::String(String::new());
        assert_eq!(
            String::from_utf8(canonical_bytes_replacing(&d, "digest", "").unwrap()).unwrap(),
            canonical_json(&v)
        );
        let nested = serde_json::json!({"x": {"digest": "keep"}, "digest": "d"});
        assert_eq!(
            String::from_utf8(canonical_bytes_replacing(&nested, "digest", "").unwrap()).unwrap(),
            r#"{"digest":"","x":{"digest":"keep"}}"#
        );
    }

    /// A key written twice (a flattened map colliding with a field) is kept once, with
    /// its last value, as in a `Value`.
    #[test]
    fn a_repeated_key_keeps_its_last_value() {
        #[derive(serde::Serialize)]
        struct Twice {
            a: u8,
            #[serde(flatten)]
            more: std::collections::BTreeMap<String, u8>,
        }
        let t = Twice {
            a: 1,
            more: [("a".to_string(), 2)].into(),
        };
        assert_eq!(
            String::from_utf8(canonical_bytes(&t).unwrap()).unwrap(),
            canonical_json(&serde_json::to_value(&t).unwrap())
        );
    }
}
