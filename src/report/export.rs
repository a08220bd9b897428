//! The access export: one JSON and one CSV file per processor, in a ZIP (art. 15 and 20).
//!
//! Records are streamed: each exported record is appended to per-processor staging files as it
//! arrives, and the ZIP is assembled from those files by streaming copies, so memory stays flat
//! however many records a processor returns.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use dsrhub_connector::Exported;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;

use super::pages;
use crate::error::{Error, Result};

/// Per-processor staging files of one access request.
#[derive(Debug)]
pub struct Staging {
    dir: PathBuf,
}

impl Staging {
    /// Staging files in `dir` (created if needed).
    pub fn new(dir: &Path) -> Result<Staging> {
        crate::private_files::create_dir(dir, true)?;
        Ok(Staging {
            dir: dir.to_path_buf(),
        })
    }

    fn path(&self, processor: &str, ext: &str) -> PathBuf {
        self.dir.join(format!("{processor}.{ext}"))
    }

    /// Start (or start over) one processor's files.
    pub fn writer(&self, processor: &str) -> Result<StagingWriter> {
        let json_part = self.path(processor, "jsonl.part");
        let csv_part = self.path(processor, "csv.part");
        let json = create_private(&json_part)?;
        let csv = create_private(&csv_part)?;
        let mut csv = BufWriter::new(csv);
        csv.write_all(b"object,id,field,value\r\n")
            .map_err(Error::io("cannot write", &csv_part))?;
        Ok(StagingWriter {
            json: BufWriter::new(json),
            csv,
            json_part,
            csv_part,
            json_final: self.path(processor, "jsonl"),
            csv_final: self.path(processor, "csv"),
        })
    }

    /// Remove the staging folder (after the ZIP is written); nothing to do when it is gone.
    pub fn remove(&self) -> Result<()> {
        match std::fs::remove_dir_all(&self.dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(Error::io("cannot remove", &self.dir)(e))
            }
            _ => Ok(()),
        }
    }
}

/// Appends one processor's exported records.
pub struct StagingWriter {
    json: BufWriter<File>,
    csv: BufWriter<File>,
    json_part: PathBuf,
    csv_part: PathBuf,
    json_final: PathBuf,
    csv_final: PathBuf,
}

impl StagingWriter {
    /// Append one record: a JSON line, and one CSV row per top-level field.
    pub fn write(&mut self, exported: &Exported) -> Result<()> {
        let r = &exported.reference;
        let line =
            json!({ "object": r.object, "id": r.id, "scope": r.scope, "data": exported.data });
        writeln!(self.json, "{line}").map_err(Error::io("cannot write", &self.json_part))?;
        let mut fields = Vec::new();
        match &exported.data {
            Value::Object(_) | Value::Array(_) => leaves("", &exported.data, &mut fields),
            other => fields.push(("value".to_string(), other)),
        }
        for (field, value) in fields {
            let value = match value {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                // An empty list or object: nothing to show.
                Value::Array(_) | Value::Object(_) => String::new(),
                other => other.to_string(),
            };
            let row = [
                r.object.as_str(),
                r.id.as_str(),
                field.as_str(),
                &as_text(&value),
            ]
            .map(csv_field)
            .join(",");
            write!(self.csv, "{row}\r\n").map_err(Error::io("cannot write", &self.csv_part))?;
        }
        Ok(())
    }

    /// Make the files final.
    pub fn finish(mut self) -> Result<()> {
        self.json
            .flush()
            .map_err(Error::io("cannot write", &self.json_part))?;
        self.csv
            .flush()
            .map_err(Error::io("cannot write", &self.csv_part))?;
        std::fs::rename(&self.json_part, &self.json_final)
            .map_err(Error::io("cannot write", &self.json_final))?;
        std::fs::rename(&self.csv_part, &self.csv_final)
            .map_err(Error::io("cannot write", &self.csv_final))?;
        Ok(())
    }

    /// Throw the partial files away (the processor failed; a later run starts over).
    pub fn abandon(self) -> Result<()> {
        let _ = std::fs::remove_file(&self.json_part);
        let _ = std::fs::remove_file(&self.csv_part);
        Ok(())
    }
}

/// Every leaf of `value` under `path`: `address.city`, `emails[0].address`. An empty list or
/// object is one leaf (shown empty), so the field is still listed.
fn leaves<'a>(path: &str, value: &'a Value, out: &mut Vec<(String, &'a Value)>) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, inner) in map {
                let path = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                leaves(&path, inner, out);
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for (i, inner) in items.iter().enumerate() {
                leaves(&format!("{path}[{i}]"), inner, out);
            }
        }
        _ => out.push((path.to_string(), value)),
    }
}

/// A cell a spreadsheet shows as text: a value starting with `=`, `+`, `-` or `@` (or a tab or
/// carriage return) would be run as a formula (CSV injection), so it gets a leading `'`. The
/// JSON file keeps the value as the processor returned it.
fn as_text(value: &str) -> String {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_string()
    }
}

/// RFC 4180 quoting.
fn csv_field(value: &str) -> String {
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_string()
    }
}

/// How every entry of the export is written: deflated, dated now.
fn entry_options() -> SimpleFileOptions {
    SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip_time_now())
}

/// Finish the ZIP written to `part`, make it durable, and put it in `zip_path`'s place.
fn commit_zip(zip: zip::ZipWriter<BufWriter<File>>, part: &Path, zip_path: &Path) -> Result<()> {
    let err = |p: &Path| Error::io("cannot write the export", p.to_path_buf());
    zip.finish()
        .map_err(|e| Error::Io {
            context: "cannot write the export",
            path: part.to_path_buf(),
            source: std::io::Error::other(e),
        })?
        .into_inner()
        .map_err(|e| Error::Io {
            context: "cannot write the export",
            path: part.to_path_buf(),
            source: e.into_error(),
        })?
        .sync_all()
        .map_err(err(part))?;
    std::fs::rename(part, zip_path).map_err(err(zip_path))
}

/// `index.html` again, from the export's manifest (after a record was withheld).
fn index_of(manifest: &Value) -> String {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let listed: Vec<(String, String, usize)> = manifest["processors"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            let id = text(&p["processor"]);
            let name = p["name"]
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| id.clone());
            (id, name, p["records"].as_u64().unwrap_or(0) as usize)
        })
        .collect();
    let flagged: Vec<pages::Flagged> = manifest["review"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| pages::Flagged {
            processor: text(&f["processor"]),
            record: text(&f["record"]),
            note: text(&f["note"]),
        })
        .collect();
    let total = manifest["review_total"]
        .as_u64()
        .map(|n| n as usize)
        .unwrap_or(flagged.len());
    pages::index(
        manifest["organisation"]
            .as_str()
            .unwrap_or("the organisation"),
        manifest["request_id"].as_str().unwrap_or_default(),
        &listed,
        &flagged,
        total,
    )
}

/// What the export's readable pages need beyond the records.
#[derive(Debug, Clone, Default)]
pub struct ExportAbout {
    /// The organisation, as the index names it.
    pub organisation: String,
    /// The hub's time zone: the pages show dates in it.
    pub timezone: String,
    /// Processor id → the name the pages show.
    pub names: std::collections::BTreeMap<String, String>,
    /// Records that name other people, reviewed before the export is released (the first of
    /// them).
    pub flagged: Vec<pages::Flagged>,
    /// How many records name other people in all.
    pub flagged_total: usize,
    /// A portable export (art. 20): only what the person provided under consent or contract.
    pub portable: bool,
}

/// Writes the ZIP.
pub struct ExportWriter;

impl ExportWriter {
    /// Assemble `zip_path` from the staging files of `processors`; returns its SHA-256.
    pub fn assemble(
        zip_path: &Path,
        request_id: &str,
        staging: &Staging,
        processors: &[&str],
        about: &ExportAbout,
    ) -> Result<String> {
        let part = zip_path.with_extension("zip.part");
        let err = |p: &Path| Error::io("cannot write the export", p.to_path_buf());
        let file = create_private(&part)?;
        let mut zip = zip::ZipWriter::new(BufWriter::new(file));
        let options = entry_options();
        let zip_err = |e: zip::result::ZipError| Error::Io {
            context: "cannot write the export",
            path: part.clone(),
            source: std::io::Error::other(e),
        };
        // What an earlier run put in the ZIP: processors exported then (their staging copies
        // are gone) and files a processor without an API sent.
        let mut previous = match File::open(zip_path) {
            Ok(file) => Some(zip::ZipArchive::new(file).map_err(|e| Error::Io {
                context: "cannot read the earlier export",
                path: zip_path.to_path_buf(),
                source: std::io::Error::other(e),
            })?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(Error::io("cannot read", zip_path)(e)),
        };
        let previous_manifest = previous
            .as_mut()
            .and_then(|archive| {
                let mut text = String::new();
                archive
                    .by_name("manifest.json")
                    .ok()?
                    .read_to_string(&mut text)
                    .ok()?;
                serde_json::from_str::<Value>(&text).ok()
            })
            .unwrap_or(Value::Null);
        let mut written = std::collections::BTreeSet::from([
            "manifest.json".to_string(),
            "index.html".to_string(),
        ]);
        let mut manifest = Vec::new();
        let mut listed = Vec::new();
        for processor in processors {
            let name = about
                .names
                .get(*processor)
                .cloned()
                .unwrap_or_else(|| processor.to_string());
            let jsonl = staging.path(processor, "jsonl");
            let names = [
                format!("{processor}.json"),
                format!("{processor}.csv"),
                format!("{processor}.html"),
            ];
            let earlier = previous.as_mut().filter(|archive| {
                !jsonl.exists()
                    && names[..2]
                        .iter()
                        .all(|n| archive.index_for_name(n).is_some())
            });
            if let Some(archive) = earlier {
                for name in &names {
                    if let Some(index) = archive.index_for_name(name) {
                        let entry = archive.by_index_raw(index).map_err(zip_err)?;
                        zip.raw_copy_file(entry).map_err(zip_err)?;
                    }
                }
                let entry = previous_manifest["processors"]
                    .as_array()
                    .and_then(|all| all.iter().find(|p| p["processor"] == *processor))
                    .cloned()
                    .unwrap_or_else(|| json!({ "processor": processor, "files": names }));
                listed.push((
                    processor.to_string(),
                    name,
                    entry["records"].as_u64().unwrap_or(0) as usize,
                ));
                manifest.push(entry);
                written.extend(names);
                continue;
            }
            let csv = staging.path(processor, "csv");
            let mut records = 0usize;
            zip.start_file(format!("{processor}.json"), options)
                .map_err(zip_err)?;
            zip.write_all(b"[\n").map_err(err(&part))?;
            if jsonl.exists() {
                let reader =
                    BufReader::new(File::open(&jsonl).map_err(Error::io("cannot read", &jsonl))?);
                for line in reader.lines() {
                    let line = line.map_err(Error::io("cannot read", &jsonl))?;
                    if records > 0 {
                        zip.write_all(b",\n").map_err(err(&part))?;
                    }
                    zip.write_all(line.as_bytes()).map_err(err(&part))?;
                    records += 1;
                }
            }
            zip.write_all(b"\n]\n").map_err(err(&part))?;
            zip.start_file(format!("{processor}.csv"), options)
                .map_err(zip_err)?;
            if csv.exists() {
                let mut reader = File::open(&csv).map_err(Error::io("cannot read", &csv))?;
                std::io::copy(&mut reader, &mut zip).map_err(err(&part))?;
            }
            // The page to read, from the same staging lines.
            zip.start_file(format!("{processor}.html"), options)
                .map_err(zip_err)?;
            let mut page = pages::Page::start(&mut zip, processor, &name, &about.timezone)
                .map_err(err(&part))?;
            if jsonl.exists() {
                let reader =
                    BufReader::new(File::open(&jsonl).map_err(Error::io("cannot read", &jsonl))?);
                for line in reader.lines() {
                    let line = line.map_err(Error::io("cannot read", &jsonl))?;
                    if let Ok(record) = serde_json::from_str::<Value>(&line) {
                        page.record(&record).map_err(err(&part))?;
                    }
                }
            }
            page.finish().map_err(err(&part))?;
            manifest.push(
                json!({ "processor": processor, "name": name, "records": records, "files": names }),
            );
            listed.push((processor.to_string(), name, records));
            written.extend(names);
        }
        zip.start_file("index.html", options).map_err(zip_err)?;
        zip.write_all(
            pages::index(
                &about.organisation,
                request_id,
                &listed,
                &about.flagged,
                about.flagged_total,
            )
            .as_bytes(),
        )
        .map_err(err(&part))?;
        // Everything else an earlier run or answer added (a processor's own export file).
        if let Some(archive) = previous.as_mut() {
            for index in 0..archive.len() {
                let entry = archive.by_index_raw(index).map_err(zip_err)?;
                let name = entry.name().map_err(zip_err)?.into_owned();
                if !written.contains(&name) {
                    zip.raw_copy_file(entry).map_err(zip_err)?;
                }
            }
        }
        zip.start_file("manifest.json", options).map_err(zip_err)?;
        let manifest = json!({
            "review_total": about.flagged_total,
            "review": about.flagged.iter().map(|f| json!({
                "processor": f.processor, "record": f.record, "note": f.note,
            })).collect::<Vec<_>>(),
            "request_id": request_id,
            "organisation": about.organisation,
            "generated_at": crate::ledger::now().to_string(),
            "about": "Personal data held by each processor, as its API returned it. One JSON file (all fields, machine-readable) and one CSV file per processor: one row per value (object, id, field, value), nested fields written as paths such as address.city or emails[0].address, and values a spreadsheet would run as a formula prefixed with an apostrophe.",
            "portable": about.portable,
            "portable_about": if about.portable {
                "A portable export (GDPR article 20): only the data the person provided under consent or a contract, in the same structured, machine-readable format; the organisation's own records (issued invoices, the books, staff notes) are left out."
            } else {
                "An access export (GDPR article 15): everything found. A portable export (article 20) is made with `dsrhub access --portable` or subject_request_type portability."
            },
            "processors": manifest,
        });
        zip.write_all(
            serde_json::to_string_pretty(&manifest)
                .expect("manifest serialises")
                .as_bytes(),
        )
        .map_err(err(&part))?;
        commit_zip(zip, &part, zip_path)?;
        // The ZIP now holds what the staging copies held: they go at once (plaintext personal
        // data, also of processors whose export was cut off and will start over).
        staging.remove()?;
        sha256_file(zip_path)
    }
}

/// Create (truncate) a file only its owner can read: exports hold personal data.
fn create_private(path: &Path) -> Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path).map_err(Error::io("cannot write", path))
}

/// The current UTC time for ZIP entries (ZIP stores local-less DOS times from 1980 on).
fn zip_time_now() -> zip::DateTime {
    let now = jiff::Timestamp::now()
        .in_tz("UTC")
        .map(|z| z.datetime())
        .ok();
    now.and_then(|t| {
        zip::DateTime::from_date_and_time(
            t.year().try_into().ok()?,
            t.month().try_into().ok()?,
            t.day().try_into().ok()?,
            t.hour().try_into().ok()?,
            t.minute().try_into().ok()?,
            t.second().try_into().ok()?,
        )
        .ok()
    })
    .unwrap_or_default()
}

impl ExportWriter {
    /// Rewrite the export ZIP without one record of `processor` (`object`, `id`): its JSON
    /// line, its CSV rows and its section of the readable page; every other entry is copied
    /// as it is. Whether the record was there. Streams, like [`ExportWriter::assemble`].
    pub fn without(
        zip_path: &Path,
        processor: &str,
        name: &str,
        timezone: &str,
        object: &str,
        id: &str,
    ) -> Result<bool> {
        let open_err = |e: zip::result::ZipError| Error::Io {
            context: "cannot read the export",
            path: zip_path.to_path_buf(),
            source: std::io::Error::other(e),
        };
        let mut archive =
            zip::ZipArchive::new(File::open(zip_path).map_err(Error::io("cannot read", zip_path))?)
                .map_err(open_err)?;
        let part = zip_path.with_extension("zip.part");
        let err = |p: &Path| Error::io("cannot write the export", p.to_path_buf());
        let zip_err = |e: zip::result::ZipError| Error::Io {
            context: "cannot write the export",
            path: part.clone(),
            source: std::io::Error::other(e),
        };
        let mut zip = zip::ZipWriter::new(BufWriter::new(create_private(&part)?));
        let options = entry_options();
        let json_name = format!("{processor}.json");
        let csv_name = format!("{processor}.csv");
        let html_name = format!("{processor}.html");
        let csv_prefix = format!("{},{},", csv_field(object), csv_field(id));
        let mut found = false;
        let mut new_index = None;
        // The page is written beside the ZIP while the JSON lines stream, then copied in:
        // memory stays flat however many records the processor returned.
        let page_path = zip_path.with_extension("page.part");
        let mut page_file = BufWriter::new(create_private(&page_path)?);
        let mut page = pages::Page::start(&mut page_file, processor, name, timezone)
            .map_err(err(&page_path))?;
        for index in 0..archive.len() {
            let entry = archive.by_index(index).map_err(open_err)?;
            let entry_name = entry.name().map_err(open_err)?.into_owned();
            if entry_name == json_name {
                zip.start_file(&entry_name, options).map_err(zip_err)?;
                zip.write_all(b"[\n").map_err(err(&part))?;
                let mut first = true;
                for line in BufReader::new(entry).lines() {
                    let line = line.map_err(Error::io("cannot read", zip_path))?;
                    let record = line.trim_end_matches(',');
                    if matches!(record, "[" | "]" | "") {
                        continue;
                    }
                    let value: Value = serde_json::from_str(record).unwrap_or(Value::Null);
                    if value["object"] == object && value["id"] == id {
                        found = true;
                        continue;
                    }
                    if !first {
                        zip.write_all(b",\n").map_err(err(&part))?;
                    }
                    zip.write_all(record.as_bytes()).map_err(err(&part))?;
                    first = false;
                    page.record(&value).map_err(err(&page_path))?;
                }
                zip.write_all(b"\n]\n").map_err(err(&part))?;
            } else if entry_name == csv_name {
                zip.start_file(&entry_name, options).map_err(zip_err)?;
                for line in BufReader::new(entry).lines() {
                    let line = line.map_err(Error::io("cannot read", zip_path))?;
                    if !line.starts_with(&csv_prefix) {
                        write!(zip, "{line}\r\n").map_err(err(&part))?;
                    }
                }
            } else if entry_name == html_name || entry_name == "index.html" {
                // Written again below, from the records kept and the manifest.
            } else if entry_name == "manifest.json" {
                // Written after the processors' files, so `found` is known here.
                let mut manifest: Value =
                    serde_json::from_reader(entry).map_err(|e| Error::Io {
                        context: "cannot read the export's manifest",
                        path: zip_path.to_path_buf(),
                        source: e.into(),
                    })?;
                if let Some(all) = manifest["processors"].as_array_mut().filter(|_| found) {
                    for p in all.iter_mut().filter(|p| p["processor"] == processor) {
                        let records = p["records"].as_u64().unwrap_or(1);
                        p["records"] = (records.saturating_sub(1)).into();
                        let withheld = p["withheld"].as_u64().unwrap_or(0);
                        p["withheld"] = (withheld + 1).into();
                    }
                }
                zip.start_file("manifest.json", options).map_err(zip_err)?;
                zip.write_all(
                    serde_json::to_string_pretty(&manifest)
                        .expect("manifest serialises")
                        .as_bytes(),
                )
                .map_err(err(&part))?;
                new_index = Some(index_of(&manifest));
            } else {
                drop(entry);
                let entry = archive.by_index_raw(index).map_err(open_err)?;
                zip.raw_copy_file(entry).map_err(zip_err)?;
            }
        }
        page.finish().map_err(err(&page_path))?;
        page_file.flush().map_err(err(&page_path))?;
        drop(page_file);
        zip.start_file(&html_name, options).map_err(zip_err)?;
        let mut written_page =
            File::open(&page_path).map_err(Error::io("cannot read", &page_path))?;
        std::io::copy(&mut written_page, &mut zip).map_err(err(&part))?;
        let _ = std::fs::remove_file(&page_path);
        if let Some(index) = new_index {
            zip.start_file("index.html", options).map_err(zip_err)?;
            zip.write_all(index.as_bytes()).map_err(err(&part))?;
        }
        commit_zip(zip, &part, zip_path)?;
        Ok(found)
    }

    /// Add `file` to an existing export ZIP as `name` (an export a processor without an API
    /// sent); creates the ZIP when there is none yet.
    pub fn append(zip_path: &Path, name: &str, file: &Path) -> Result<String> {
        let err = |p: &Path| Error::io("cannot write the export", p.to_path_buf());
        let zip_err = |e: zip::result::ZipError| Error::Io {
            context: "cannot write the export",
            path: zip_path.to_path_buf(),
            source: std::io::Error::other(e),
        };
        if let Some(dir) = zip_path.parent() {
            crate::private_files::create_dir(dir, false)?;
        }
        let mut writer = if zip_path.exists() {
            let archive = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(zip_path)
                .map_err(err(zip_path))?;
            zip::ZipWriter::new_append(archive).map_err(zip_err)?
        } else {
            zip::ZipWriter::new(create_private(zip_path)?)
        };
        let options = entry_options();
        writer.start_file(name, options).map_err(zip_err)?;
        let mut source = File::open(file).map_err(Error::io("cannot read", file))?;
        std::io::copy(&mut source, &mut writer).map_err(err(zip_path))?;
        writer
            .finish()
            .map_err(zip_err)?
            .sync_all()
            .map_err(err(zip_path))?;
        sha256_file(zip_path)
    }
}

/// SHA-256 of a file, streamed.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut file = File::open(path).map_err(Error::io("cannot read", path))?;
    let mut hasher = Sha256::new();
    let mut buf = [0u8; 64 * 1024];
    loop {
        let n = file
            .read(&mut buf)
            .map_err(Error::io("cannot read", path))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use dsrhub_connector::RecordRef;

    #[test]
    fn csv_quoting() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
    }

    /// Issue 16.2: a value a spreadsheet would run as a formula is written as text, and
    /// nested values become one row per leaf (`address.city`, `emails[0].address`), not JSON
    /// in a cell.
    #[test]
    fn csv_cells_are_plain_text_one_leaf_per_row() {
        let dir = tempfile::tempdir().unwrap();
        let staging = Staging::new(&dir.path().join(".staging")).unwrap();
        let mut w = staging.writer("graph").unwrap();
        w.write(&Exported {
            reference: RecordRef::new("contact", "c1"),
            data: json!({
                "displayName": "=HYPERLINK(\"http://evil.example\",\"x\")",
                "note": "+31 6 12345678",
                "other": "@SUM(A1)",
                "minus": "-2+3",
                "address": {"city": "Utrecht", "street": null},
                "emails": [{"address": "a@b.nl"}, {"address": "c@d.nl"}],
                "tags": [],
            }),
        })
        .unwrap();
        w.finish().unwrap();
        let csv = std::fs::read_to_string(staging.path("graph", "csv")).unwrap();
        let rows: Vec<&str> = csv.lines().skip(1).collect();
        let cell = |field: &str| -> String {
            let row = rows
                .iter()
                .find(|r| r.starts_with(&format!("contact,c1,{field},")))
                .unwrap_or_else(|| panic!("no row for {field}: {rows:?}"));
            row[format!("contact,c1,{field},").len()..].to_string()
        };
        assert_eq!(
            cell("displayName"),
            "\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\""
        );
        assert_eq!(cell("note"), "'+31 6 12345678");
        assert_eq!(cell("other"), "'@SUM(A1)");
        assert_eq!(cell("minus"), "'-2+3");
        assert_eq!(cell("address.city"), "Utrecht");
        assert_eq!(cell("address.street"), "");
        assert_eq!(cell("emails[0].address"), "a@b.nl");
        assert_eq!(cell("emails[1].address"), "c@d.nl");
        assert_eq!(cell("tags"), "");
        assert!(!csv.contains('{'), "JSON in a cell: {csv}");
    }

    #[test]
    fn zip_holds_one_json_and_one_csv_per_processor() {
        let dir = tempfile::tempdir().unwrap();
        let staging = Staging::new(&dir.path().join(".staging")).unwrap();
        let mut w = staging.writer("moneybird").unwrap();
        for i in 0..3 {
            w.write(&Exported {
                reference: RecordRef::new("contact", i.to_string()),
                data: json!({"email": "a@b.nl", "n": i}),
            })
            .unwrap();
        }
        w.finish().unwrap();
        let zip_path = dir.path().join("access-export.zip");
        let digest = ExportWriter::assemble(
            &zip_path,
            "req-1",
            &staging,
            &["moneybird"],
            &ExportAbout::default(),
        )
        .unwrap();
        assert_eq!(digest.len(), 64);
        let mut archive = zip::ZipArchive::new(File::open(&zip_path).unwrap()).unwrap();
        let mut json_text = String::new();
        archive
            .by_name("moneybird.json")
            .unwrap()
            .read_to_string(&mut json_text)
            .unwrap();
        let records: Vec<Value> = serde_json::from_str(&json_text).unwrap();
        assert_eq!(records.len(), 3);
        let mut csv_text = String::new();
        archive
            .by_name("moneybird.csv")
            .unwrap()
            .read_to_string(&mut csv_text)
            .unwrap();
        assert_eq!(csv_text.lines().count(), 1 + 3 * 2);
        assert!(archive.by_name("manifest.json").is_ok());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&zip_path).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "the export must be private to its owner");
        }
    }
}
