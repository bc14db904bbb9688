//! Tests of `spikeslice_core::dataset`: the vendored sets, the split, and every reader
//! on synthetic well-formed and malformed files.

use std::io::Write;
use std::path::{Path, PathBuf};

use spikeslice_core::dataset::{
    load_mnist_5k, load_optdigits, mnist_5k_split, open, parse_csv, parse_unlabelled_csv,
    read_cifar10, read_csv, read_idx, split_indices, stratified_split, DataError, Dataset,
    MNIST_5K_SPLIT_SEED,
};

// ---------------------------------------------------------------- helpers

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// IDX images: `n` images of `rows x cols`, pixel `k` of image `i` = `(i * 7 + k) % 256`.
fn idx_images(n: u32, rows: u32, cols: u32) -> Vec<u8> {
    let mut b = vec![0, 0, 8, 3];
    for v in [n, rows, cols] {
        b.extend_from_slice(&v.to_be_bytes());
    }
    for i in 0..n as usize {
        for k in 0..(rows * cols) as usize {
            b.push(((i * 7 + k) % 256) as u8);
        }
    }
    b
}

fn idx_labels(labels: &[u8]) -> Vec<u8> {
    let mut b = vec![0, 0, 8, 1];
    b.extend_from_slice(&(labels.len() as u32).to_be_bytes());
    b.extend_from_slice(labels);
    b
}

fn cifar_batch(labels: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    for (r, &l) in labels.iter().enumerate() {
        b.push(l);
        b.extend((0..3072).map(|k| ((r * 31 + k) % 256) as u8));
    }
    b
}

/// Asserts `r` is an error whose message contains every one of `needles`.
#[track_caller]
fn assert_err<T: std::fmt::Debug>(r: Result<T, DataError>, needles: &[&str]) -> DataError {
    assert_case_err("", r, needles)
}

/// [`assert_err`] for one case of a table: `case` prefixes every failure.
#[track_caller]
fn assert_case_err<T: std::fmt::Debug>(
    case: &str,
    r: Result<T, DataError>,
    needles: &[&str],
) -> DataError {
    let e = r.expect_err(&format!("{case}expected an error"));
    let msg = e.to_string();
    for n in needles {
        assert!(
            msg.contains(n),
            "{case}error message {msg:?} does not contain {n:?}"
        );
    }
    e
}

// ---------------------------------------------------------------- vendored sets

/// Asserts a vendored set's name, shape, bit width, largest pixel and
/// samples per class (which also fix its length and class count).
#[track_caller]
fn assert_vendored(
    d: &Dataset,
    name: &str,
    shape: [usize; 3],
    bits: u8,
    max_pixel: u8,
    class_counts: &[usize],
) {
    let len: usize = class_counts.iter().sum();
    assert_eq!(d.name, name);
    assert_eq!(d.len(), len);
    assert_eq!(
        (d.shape, d.bits, d.classes),
        (shape, bits, class_counts.len())
    );
    assert_eq!(d.pixels.len(), len * shape.iter().product::<usize>());
    assert_eq!(d.pixels.iter().max(), Some(&max_pixel));
    assert_eq!(d.class_counts(), class_counts);
}

#[test]
fn mnist_5k_loads() {
    let d = load_mnist_5k().unwrap();
    assert_vendored(&d, "mnist-5k", [1, 28, 28], 8, 255, &[500; 10]);
    assert_eq!(d.sample_len(), 784);
    // Sorted by class, 500 each.
    assert!(d.labels[..500].iter().all(|&l| l == 0));
    assert!(d.labels[4500..].iter().all(|&l| l == 9));
    // Real digits: mostly background, some ink in every sample.
    for i in 0..d.len() {
        let ink = d.sample(i).iter().filter(|&&p| p > 128).count();
        assert!(
            (20..400).contains(&ink),
            "sample {i} has {ink} inked pixels"
        );
    }
}

#[test]
fn optdigits_loads() {
    let d = load_optdigits().unwrap();
    assert_vendored(
        &d,
        "optdigits",
        [1, 8, 8],
        5,
        16,
        &[178, 182, 177, 183, 181, 182, 181, 179, 174, 180],
    );
    // The first row of the file.
    assert_eq!(&d.sample(0)[..8], &[0, 0, 5, 13, 9, 1, 0, 0]);
    assert_eq!(d.labels[0], 0);
}

#[test]
fn open_builtins_and_bad_spec() {
    assert_eq!(open("mnist-5k").unwrap().len(), 5000);
    assert_eq!(open("optdigits").unwrap().len(), 1797);
    assert_err(
        open("/nonexistent/dataset-xyz"),
        &[
            "/nonexistent/dataset-xyz",
            "not a built-in",
            "mnist-5k, optdigits",
        ],
    );
}

// ---------------------------------------------------------------- split

#[test]
fn mnist_5k_standard_split() {
    let s = mnist_5k_split().unwrap();
    assert_eq!((s.train.len(), s.test.len()), (4000, 1000));
    assert_eq!(s.test.class_counts(), vec![100; 10]);
    assert_eq!(s.train.class_counts(), vec![400; 10]);
    assert_eq!(
        (s.train.name.as_str(), s.test.name.as_str()),
        ("mnist-5k/train", "mnist-5k/test")
    );

    let d = load_mnist_5k().unwrap();
    let (train, test) = split_indices(&d.name, &d.labels, 0.2, MNIST_5K_SPLIT_SEED).unwrap();
    // Pinned: the documented algorithm (data/README.md has a Python reimplementation).
    assert_eq!(
        train[..10],
        [3625, 3520, 2065, 4670, 4, 243, 4320, 1891, 1420, 2720]
    );
    assert_eq!(
        test[..10],
        [4230, 1531, 2092, 1888, 381, 921, 3683, 2558, 1844, 536]
    );
    // Disjoint and covering.
    let mut all: Vec<usize> = train.iter().chain(&test).copied().collect();
    all.sort_unstable();
    assert_eq!(all, (0..5000).collect::<Vec<_>>());
    // The datasets are exactly those indices, in that order.
    assert_eq!(s.train, {
        let mut t = d.subset(&train);
        t.name = "mnist-5k/train".into();
        t
    });
    assert_eq!(s.test.sample(0), d.sample(test[0]));
    // Class-mixed order: the first 100 of train hold every class.
    assert!(s.train.take(100).class_counts().iter().all(|&c| c > 0));
    assert!(s.test.take(100).class_counts().iter().all(|&c| c > 0));
}

#[test]
fn split_is_deterministic_per_seed() {
    let d = load_optdigits().unwrap();
    let a = stratified_split(&d, 0.25, 42).unwrap();
    let b = stratified_split(&d, 0.25, 42).unwrap();
    let c = stratified_split(&d, 0.25, 43).unwrap();
    assert_eq!(a, b);
    assert_ne!(a.train.labels, c.train.labels);
    assert_ne!(a.test.pixels, c.test.pixels);
    // Stratified: per class, round(n_c / 4) in test.
    let counts = d.class_counts();
    let expected: Vec<usize> = counts
        .iter()
        .map(|&n| (n as f64 * 0.25).round() as usize)
        .collect();
    assert_eq!(a.test.class_counts(), expected);
    assert_eq!(a.train.len() + a.test.len(), d.len());
}

#[test]
fn split_rejects_bad_fraction() {
    let d = load_optdigits().unwrap().take(100);
    for f in [0.0, 1.0, -0.1, 2.0, f64::NAN] {
        assert_err(
            stratified_split(&d, f, 1),
            &["optdigits", "not strictly between 0 and 1"],
        );
    }
}

// ---------------------------------------------------------------- CSV

#[test]
fn csv_round_trip_plain_and_gz() {
    let dir = tempfile::tempdir().unwrap();
    let text = "1,2,3,0,7\n4,5,6,7,9\n";
    let plain = write(dir.path(), "t.csv", text.as_bytes());
    let gz = write(dir.path(), "t.csv.gz", &gzip(text.as_bytes()));
    let odd_name = write(dir.path(), "t.txt", &gzip(text.as_bytes())); // magic, not name
    for p in [&plain, &gz, &odd_name] {
        let d = read_csv(p, [1, 2, 2], 3).unwrap();
        assert!(d.name == "t" || d.name == "t.txt", "{}", d.name);
        assert_eq!((d.len(), d.shape, d.bits), (2, [1, 2, 2], 3));
        assert_eq!(d.pixels, vec![1, 2, 3, 0, 4, 5, 6, 7]);
        assert_eq!(d.labels, vec![7, 9]);
    }
}

#[test]
fn csv_with_header_is_handled() {
    let d = parse_csv("h.csv", b"p0,p1,p2,p3,label\n1,2,3,0,7\n", [1, 2, 2], 3).unwrap();
    assert_eq!((d.pixels, d.labels), (vec![1, 2, 3, 0], vec![7]));
}

#[test]
fn csv_malformed() {
    let s = [1, 2, 2];
    /// File name, contents, shape, bits, what the error must say.
    type Case = (
        &'static str,
        Vec<u8>,
        [usize; 3],
        u8,
        &'static [&'static str],
    );
    let cases: [Case; 14] = [
        (
            "e.csv",
            b"".to_vec(),
            s,
            8,
            &["e.csv", "no samples", "empty"],
        ),
        (
            "e.csv",
            b"\n\n# only a comment\n".to_vec(),
            s,
            8,
            &["e.csv", "no samples"],
        ),
        ("e.csv.gz", gzip(b""), s, 8, &["e.csv.gz", "no samples"]),
        (
            "w.csv",
            b"1,2,3,4,5\n1,2,3,4\n".to_vec(),
            s,
            8,
            &[
                "w.csv: line 2, column 5: too few values: expected 5",
                "found 4",
            ],
        ),
        (
            "w.csv",
            b"1,2,3,4,5,6\n".to_vec(),
            s,
            8,
            &[
                "w.csv: line 1, column 6: too many values: expected 5",
                "found 6",
            ],
        ),
        (
            "n.csv",
            b"1,2,3,4,5\n\n1,2.5,3,4,5\n".to_vec(),
            s,
            8,
            &["n.csv: line 3, column 2: '2.5' is not an unsigned decimal integer"],
        ),
        (
            "n.csv",
            b"1,-2,3,4,5\n".to_vec(),
            s,
            8,
            &["line 1, column 2: '-2' is not an unsigned decimal integer"],
        ),
        (
            "n.csv",
            b"1,,3,4,5\n".to_vec(),
            s,
            8,
            &["line 1, column 2: empty value"],
        ),
        (
            "b.csv",
            b"1,2,3,4,5\n0,0,0,8,5\n".to_vec(),
            s,
            3,
            &["b.csv: line 2, column 4: pixel value 8 does not fit in 3 bits (must be 0..=7)"],
        ),
        (
            "b.csv",
            b"1,2,3,256,5\n".to_vec(),
            s,
            8,
            &["column 4: pixel value 256 does not fit in 8 bits"],
        ),
        (
            "l.csv",
            b"1,2,3,4,10\n".to_vec(),
            s,
            8,
            &["l.csv: line 1, column 5: label 10 out of range, labels must be below 10"],
        ),
        (
            "z.csv.gz",
            gzip(b"1,2,3,4,5\n")[..10].to_vec(),
            s,
            8,
            &[
                "z.csv.gz: cannot decompress gzip data",
                "truncated or corrupt",
            ],
        ),
        (
            "a.csv",
            b"1,2\n".to_vec(),
            [1, 0, 2],
            8,
            &["a.csv", "1x0x2"],
        ),
        ("a.csv", b"1,2\n".to_vec(), s, 0, &["a.csv", "bit width 0"]),
    ];
    for (name, bytes, shape, bits, needles) in cases {
        let case = format!(
            "{name} {:?} (shape {shape:?}, {bits} bits): ",
            String::from_utf8_lossy(&bytes)
        );
        assert_case_err(&case, parse_csv(name, &bytes, shape, bits), needles);
    }
    assert_err(
        read_csv(Path::new("/nonexistent/x.csv"), s, 8),
        &["/nonexistent/x.csv: cannot read file"],
    );
}

#[test]
fn unlabelled_csv() {
    let rows =
        parse_unlabelled_csv("u.csv", b"# header comment\n0,1,2\n\n70000, 3 ,4\r\n").unwrap();
    assert_eq!(rows, vec![vec![0, 1, 2], vec![70000, 3, 4]]);
    assert_eq!(
        parse_unlabelled_csv("u.csv.gz", &gzip(b"5,6\n")).unwrap(),
        vec![vec![5, 6]]
    );
    assert_err(
        parse_unlabelled_csv("u.csv", b"1,2\n3,abc\n"),
        &["u.csv: line 2, column 2: 'abc' is not an unsigned decimal integer"],
    );
    assert_err(
        parse_unlabelled_csv("u.csv", b"1,2\n3,4,5\n"),
        &[
            "u.csv: line 2",
            "3 values, but the first sample (line 1) has 2",
        ],
    );
    assert_err(parse_unlabelled_csv("u.csv", b""), &["u.csv", "no samples"]);
}

#[test]
fn open_csv_infers_shape() {
    let dir = tempfile::tempdir().unwrap();
    let row = |n: usize, v: u8, label: u8| {
        let mut s: Vec<String> = (0..n).map(|_| v.to_string()).collect();
        s.push(label.to_string());
        s.join(",") + "\n"
    };
    let p = write(dir.path(), "m.csv.gz", &gzip(row(784, 200, 3).as_bytes()));
    let d = open(p.to_str().unwrap()).unwrap();
    assert_eq!(
        (d.shape, d.bits, d.labels.clone()),
        ([1, 28, 28], 8, vec![3])
    );
    assert_eq!(d.name, p.to_str().unwrap());
    let p = write(dir.path(), "o.csv", row(64, 16, 4).as_bytes());
    let d = open(p.to_str().unwrap()).unwrap();
    assert_eq!((d.shape, d.bits), ([1, 8, 8], 5));
    let p = write(dir.path(), "c.csv", row(3072, 255, 9).as_bytes());
    assert_eq!(open(p.to_str().unwrap()).unwrap().shape, [3, 32, 32]);
    let p = write(dir.path(), "x.csv", row(10, 1, 1).as_bytes());
    assert_err(
        open(p.to_str().unwrap()),
        &["x.csv", "cannot infer the image shape from 11 columns"],
    );
    let p = write(dir.path(), "unknown.dat", b"1,2\n");
    assert_err(
        open(p.to_str().unwrap()),
        &["unknown.dat", "unrecognised file type"],
    );
}

// ---------------------------------------------------------------- IDX

#[test]
fn idx_round_trip_plain_and_gz() {
    let labels = [3u8, 1, 4, 1, 5];
    let images = idx_images(5, 4, 3);
    for gz in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let (ib, lb) = if gz {
            (gzip(&images), gzip(&idx_labels(&labels)))
        } else {
            (images.clone(), idx_labels(&labels))
        };
        let suffix = if gz { ".gz" } else { "" };
        let ip = write(dir.path(), &format!("train-images-idx3-ubyte{suffix}"), &ib);
        let lp = write(dir.path(), &format!("train-labels-idx1-ubyte{suffix}"), &lb);
        let d = read_idx(&ip, &lp).unwrap();
        assert_eq!((d.len(), d.shape, d.bits, d.classes), (5, [1, 4, 3], 8, 10));
        assert_eq!(d.labels, labels);
        assert_eq!(d.pixels, images[16..]);
        assert_eq!(d.sample(2)[0], 14);

        // The same through open(): the directory, and the images file.
        let by_dir = open(dir.path().to_str().unwrap()).unwrap();
        assert_eq!(
            (by_dir.pixels.clone(), by_dir.labels.clone()),
            (d.pixels.clone(), d.labels.clone())
        );
        assert!(by_dir.name.ends_with("/train"));
        let by_file = open(ip.to_str().unwrap()).unwrap();
        assert_eq!(by_file.labels, d.labels);
        assert_err(
            open(lp.to_str().unwrap()),
            &["labels file", "pass the images file"],
        );
    }
}

#[test]
fn idx_open_dir_prefers_train_and_finds_t10k() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "t10k-images-idx3-ubyte.gz",
        &gzip(&idx_images(2, 2, 2)),
    );
    write(dir.path(), "t10k-labels-idx1-ubyte", &idx_labels(&[7, 8]));
    let d = open(dir.path().to_str().unwrap()).unwrap();
    assert_eq!(d.labels, vec![7, 8]);
    assert!(d.name.ends_with("/test"));
    write(dir.path(), "train-images.idx3-ubyte", &idx_images(3, 2, 2));
    write(
        dir.path(),
        "train-labels.idx1-ubyte",
        &idx_labels(&[0, 1, 2]),
    );
    assert_eq!(
        open(dir.path().to_str().unwrap()).unwrap().labels,
        vec![0, 1, 2]
    );

    let lonely = tempfile::tempdir().unwrap();
    write(
        lonely.path(),
        "train-images-idx3-ubyte",
        &idx_images(1, 2, 2),
    );
    assert_err(
        open(lonely.path().to_str().unwrap()),
        &["no labels file beside it", "train-labels-idx1-ubyte"],
    );
    let empty = tempfile::tempdir().unwrap();
    assert_err(
        open(empty.path().to_str().unwrap()),
        &[
            "holds neither MNIST IDX files",
            "nor CIFAR-10 binary batches",
        ],
    );
}

fn idx_pair(dir: &Path, images: &[u8], labels: &[u8]) -> Result<Dataset, DataError> {
    let ip = write(dir, "i-images-idx3-ubyte", images);
    let lp = write(dir, "i-labels-idx1-ubyte", labels);
    read_idx(&ip, &lp)
}

#[test]
fn idx_malformed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let good_i = idx_images(3, 2, 2);
    let good_l = idx_labels(&[1, 2, 3]);
    assert!(idx_pair(d, &good_i, &good_l).is_ok());
    let with = |bytes: &[u8], at: usize, value: u8| {
        let mut v = bytes.to_vec();
        v[at] = value;
        v
    };
    let gz = gzip(&good_i);
    let mut long = good_i.clone();
    long.push(0);

    /// What is malformed, images file, labels file, what the error must say.
    type Case = (&'static str, Vec<u8>, Vec<u8>, &'static [&'static str]);
    let cases: [Case; 12] = [
        (
            "images magic",
            with(&good_i, 3, 0x04),
            good_l.clone(),
            &[
                "i-images-idx3-ubyte: bad magic number 0x00000804",
                "expected 0x00000803",
            ],
        ),
        (
            "swapped files",
            good_l.clone(),
            good_i.clone(),
            &["bad magic number 0x00000801", "swapped"],
        ),
        (
            "a PGM image",
            b"P5\n28 28\n255\n...".to_vec(),
            good_l.clone(),
            &[
                "bad magic number",
                "not an IDX unsigned-byte 3-dimensional images file",
            ],
        ),
        (
            "labels magic",
            good_i.clone(),
            with(&good_l, 2, 0x0D),
            &[
                "i-labels-idx1-ubyte: bad magic number 0x00000d01",
                "expected 0x00000801",
            ],
        ),
        (
            "truncated images body",
            good_i[..good_i.len() - 1].to_vec(),
            good_l.clone(),
            &[
                "i-images-idx3-ubyte: truncated: expected 28 bytes",
                "has 27",
                "3 images of 2x2",
            ],
        ),
        (
            "truncated labels body",
            good_i.clone(),
            good_l[..10].to_vec(),
            &[
                "i-labels-idx1-ubyte: truncated: expected 11 bytes",
                "has 10",
            ],
        ),
        (
            "truncated header",
            good_i[..9].to_vec(),
            good_l.clone(),
            &["truncated: expected 16 bytes", "header"],
        ),
        (
            "truncated gzip stream",
            gz[..gz.len() - 12].to_vec(),
            good_l.clone(),
            &["cannot decompress gzip data"],
        ),
        (
            "trailing bytes",
            long,
            good_l.clone(),
            &["1 unexpected bytes", "offset 28"],
        ),
        (
            "count mismatch",
            good_i.clone(),
            idx_labels(&[1, 2]),
            &["holds 3 images but", "holds 2 labels"],
        ),
        (
            "label out of range",
            good_i.clone(),
            idx_labels(&[1, 10, 3]),
            &["i-labels-idx1-ubyte: label 1 (byte offset 9): label 10 out of range"],
        ),
        (
            "empty images file",
            Vec::new(),
            good_l.clone(),
            &["i-images-idx3-ubyte: no samples: the file is empty"],
        ),
    ];
    for (what, images, labels, needles) in cases {
        assert_case_err(&format!("{what}: "), idx_pair(d, &images, &labels), needles);
    }
    assert_err(
        read_idx(&d.join("missing-images"), &d.join("missing-labels")),
        &["missing-images: cannot read file"],
    );
}

// ---------------------------------------------------------------- CIFAR-10

#[test]
fn cifar_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let b1 = write(dir.path(), "data_batch_1.bin", &cifar_batch(&[6, 9]));
    let b2 = write(dir.path(), "data_batch_2.bin", &gzip(&cifar_batch(&[0])));
    let d = read_cifar10(&[&b1, &b2]).unwrap();
    assert_eq!(
        (d.len(), d.shape, d.bits, d.classes),
        (3, [3, 32, 32], 8, 10)
    );
    assert_eq!(d.labels, vec![6, 9, 0]);
    assert_eq!(d.sample(1)[..3], [31, 32, 33]);
    assert_eq!(d.sample(1)[3071], ((31 + 3071) % 256) as u8);
    assert_eq!(d.sample(2)[..3], [0, 1, 2]);

    // open(): the directory loads the training batches; test_batch.bin alone, by file.
    let t = write(dir.path(), "test_batch.bin", &cifar_batch(&[5]));
    let by_dir = open(dir.path().to_str().unwrap()).unwrap();
    assert_eq!(by_dir.labels, vec![6, 9, 0]);
    assert!(by_dir.name.ends_with("/train"));
    assert_eq!(open(t.to_str().unwrap()).unwrap().labels, vec![5]);
    let only_test = tempfile::tempdir().unwrap();
    let sub = only_test.path().join("cifar-10-batches-bin");
    std::fs::create_dir(&sub).unwrap();
    write(&sub, "test_batch.bin", &cifar_batch(&[1, 2]));
    let d = open(only_test.path().to_str().unwrap()).unwrap();
    assert_eq!(d.labels, vec![1, 2]);
    assert!(d.name.ends_with("/test"));
}

#[test]
fn cifar_malformed() {
    let dir = tempfile::tempdir().unwrap();
    let good = cifar_batch(&[1, 2]);
    let p = write(dir.path(), "trunc.bin", &good[..good.len() - 5]);
    assert_err(
        read_cifar10(&[&p]),
        &[
            "trunc.bin: length 6141 bytes is not a multiple of the 3073-byte",
            "1 whole records then 3068 stray bytes",
        ],
    );
    let p = write(dir.path(), "c100.bin", &vec![0; 3074 * 2]);
    assert_err(read_cifar10(&[&p]), &["c100.bin", "CIFAR-100"]);
    let mut bad = good.clone();
    bad[3073] = 10;
    let p = write(dir.path(), "label.bin", &bad);
    assert_err(
        read_cifar10(&[&p]),
        &["label.bin: record 1 (byte offset 3073): label 10 out of range"],
    );
    let p = write(dir.path(), "empty.bin", b"");
    assert_err(read_cifar10(&[&p]), &["empty.bin: no samples"]);
    assert_err(read_cifar10(&[]), &["no batch files given"]);
}
