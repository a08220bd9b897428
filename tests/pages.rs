//! Issue 16: the pages a person and an auditor read (the reports, the replies, the export's
//! index and processor pages), laid out by real headless Chromium at desktop and phone width:
//! nothing is wider than the screen. Screenshots are kept as artefacts in
//! `target/tmp/pages/<page>-<width>.png`. Skipped with a notice when Chromium is not installed,
//! unless `DSRHUB_REQUIRE_CHROMIUM=1` (CI installs it and sets that).

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};

use common::{chromium, headless};

const WIDTHS: [u32; 2] = [1280, 390];

/// A page beside `page` that shows it in a frame `width` pixels wide: headless Chromium's
/// window is at least 500 pixels, so a phone's width is given to the frame, whose viewport
/// (and media queries) it becomes. When the frame has loaded, the page's laid-out width and
/// the frame's viewport width are written into the DOM.
fn framed(page: &Path, width: u32) -> PathBuf {
    let frame = page.with_extension(format!("at-{width}.html"));
    let name = page.file_name().unwrap().to_string_lossy();
    std::fs::write(
        &frame,
        format!(
            "<!DOCTYPE html><html><body style=\"margin:0\">\
             <iframe id=\"f\" src=\"{name}\" style=\"width:{width}px;height:900px;border:0\"></iframe>\
             <script>document.getElementById('f').addEventListener('load', function () {{\
               var d = this.contentDocument;\
               document.body.setAttribute('data-layout',\
                 d.documentElement.scrollWidth + ' ' + this.contentWindow.innerWidth);\
             }});</script></body></html>"
        ),
    )
    .unwrap();
    frame
}

/// The page's laid-out width and its viewport's at `width`, as Chromium measured them.
fn measure(chromium: &str, profile: &Path, page: &Path, width: u32) -> (i64, i64) {
    let frame = framed(page, width);
    let out = headless(
        chromium,
        profile,
        width.max(500),
        &[
            "--allow-file-access-from-files".into(),
            "--virtual-time-budget=5000".into(),
            "--dump-dom".into(),
            format!("file://{}", frame.display()),
        ],
    );
    let dom = String::from_utf8_lossy(&out.stdout);
    let at = dom
        .find("data-layout=\"")
        .unwrap_or_else(|| panic!("{}: no measurement: {dom}", page.display()));
    let rest = &dom[at + "data-layout=\"".len()..];
    let value = &rest[..rest.find('"').unwrap()];
    let (scroll, window) = value.split_once(' ').unwrap();
    (scroll.parse().unwrap(), window.parse().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_fits_a_desktop_and_a_phone() {
    let Some(chromium) = chromium() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let demo = dsrhub::demo::run(dir.path(), true).await.unwrap();
    // The export's pages, unpacked.
    let export = dir.path().join("export");
    std::fs::create_dir_all(&export).unwrap();
    let mut zip =
        zip::ZipArchive::new(std::fs::File::open(dir.path().join("access-export.zip")).unwrap())
            .unwrap();
    let mut pages: Vec<(String, PathBuf)> = vec![
        (
            "access-report".into(),
            dir.path().join("access-report.html"),
        ),
        (
            "erasure-report".into(),
            dir.path().join("erasure-report.html"),
        ),
        (
            "reply-access".into(),
            dir.path()
                .join(&demo.access.request.id)
                .join("reply-access.html"),
        ),
        (
            "reply-erasure".into(),
            dir.path()
                .join(&demo.forwarded.request.id)
                .join("reply-erasure.html"),
        ),
    ];
    for name in ["index", "microsoft-graph", "exact-online"] {
        let mut text = String::new();
        zip.by_name(&format!("{name}.html"))
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        let path = export.join(format!("{name}.html"));
        std::fs::write(&path, text).unwrap();
        pages.push((format!("export-{name}"), path));
    }
    let artefacts = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("pages");
    std::fs::create_dir_all(&artefacts).unwrap();
    let profile = tempfile::tempdir().unwrap();
    let mut too_wide = Vec::new();
    for (stem, page) in &pages {
        for width in WIDTHS {
            let (scroll, window) = measure(chromium, profile.path(), page, width);
            assert_eq!(window, i64::from(width), "{stem}: the viewport");
            if scroll > window {
                too_wide.push(format!("{stem} at {width}px: {scroll}px wide"));
            }
            let shot = artefacts.join(format!("{stem}-{width}.png"));
            let _ = std::fs::remove_file(&shot);
            headless(
                chromium,
                profile.path(),
                width.max(500),
                &[
                    "--allow-file-access-from-files".into(),
                    "--virtual-time-budget=5000".into(),
                    format!("--screenshot={}", shot.display()),
                    format!("file://{}", framed(page, width).display()),
                ],
            );
            assert!(shot.exists(), "no screenshot of {stem} at {width}px");
        }
    }
    assert!(
        too_wide.is_empty(),
        "wider than the screen:\n{}",
        too_wide.join("\n")
    );
}
