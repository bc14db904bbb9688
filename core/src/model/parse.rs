//! Reading a spec's JSON with messages that point at what to change: a key
//! given twice is refused (JSON parsers usually keep the last one silently),
//! and a wrong value is reported with its layer and field.

use super::spec::{InputSpec, LayerSpec, ModelSpec};
use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::fmt;

/// A JSON value in which no object has the same key twice.
pub struct Unique(pub Value);

impl<'de> Deserialize<'de> for Unique {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(UniqueVisitor).map(Unique)
    }
}

struct UniqueVisitor;

impl<'de> Visitor<'de> for UniqueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Unique::deserialize(d).map(|u| u.0)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(Unique(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(de::Error::custom(format!(
                    "key `{key}` is given twice in one object: keep one"
                )));
            }
            let Unique(v) = map.next_value()?;
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

/// Deserialize a spec, or say which layer and field is wrong.
pub fn spec_from_value(v: Value) -> Result<ModelSpec, String> {
    match serde_json::from_value::<ModelSpec>(v.clone()) {
        Ok(s) => Ok(s),
        Err(e) => Err(locate(&v, e.to_string())),
    }
}

fn locate(v: &Value, message: String) -> String {
    if let Some(input) = v.get("input") {
        if let Err(e) = serde_json::from_value::<InputSpec>(input.clone()) {
            let (field, msg) = field_of::<InputSpec>(input, e.to_string());
            return match field {
                Some(f) => format!(
                    "input, field `{f}`: {}",
                    if f == "bits" {
                        msg.replace("spike bits b_s", "input bits")
                    } else {
                        msg
                    }
                ),
                None => format!("input: {msg}"),
            };
        }
    }
    if let Some(Value::Array(layers)) = v.get("layers") {
        for (i, l) in layers.iter().enumerate() {
            if let Err(e) = serde_json::from_value::<LayerSpec>(l.clone()) {
                let name = match l.get("name").and_then(Value::as_str) {
                    Some(n) => format!("layer {i} ({n})"),
                    None => format!("layer {i}"),
                };
                let (field, msg) = field_of::<LayerSpec>(l, e.to_string());
                return match field {
                    Some(f) => format!("{name}, field `{f}`: {msg}"),
                    None => format!("{name}: {msg}"),
                };
            }
        }
    }
    match field_of::<ModelSpec>(v, message) {
        (Some(f), msg) => format!("field `{f}`: {msg}"),
        (None, msg) => msg,
    }
}

/// The field of object `v` that makes it fail to deserialize as `T`: the one
/// whose removal makes the error go away or become "missing field".
fn field_of<T: DeserializeOwned>(v: &Value, message: String) -> (Option<String>, String) {
    let Value::Object(m) = v else {
        return (None, message);
    };
    for k in m.keys().filter(|k| *k != "type") {
        let mut without = m.clone();
        without.remove(k);
        match serde_json::from_value::<T>(Value::Object(without)) {
            Ok(_) => return (Some(k.clone()), message),
            Err(e) if e.to_string().contains(&format!("missing field `{k}`")) => {
                return (Some(k.clone()), message)
            }
            Err(_) => {}
        }
    }
    (None, message)
}
