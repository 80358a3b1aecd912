//! Loading from every source format, the cache, and every kind of bad input.

use flate2::{Compression, write::GzEncoder};
use imdb_data::{DataError, DataSource, EncodeOptions, Format, ImdbLoader, SourceKind};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn load(path: &Path, cache: &Path) -> imdb_data::Result<imdb_data::Imdb> {
    ImdbLoader::new(DataSource::Path(path.to_owned()))
        .cache_dir(cache)
        .load()
}

/// Writes a gzip'd tar with the given entries.
fn write_tar_gz(path: &Path, entries: &[(&str, &[u8])]) {
    let mut builder = tar::Builder::new(GzEncoder::new(
        std::fs::File::create(path).unwrap(),
        Compression::fast(),
    ));
    for (name, bytes) in entries {
        let mut header = tar::Header::new_ustar();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder.append_data(&mut header, name, *bytes).unwrap();
    }
    builder.into_inner().unwrap().finish().unwrap();
}

/// A valid 1-review-per-folder layout, as (name, bytes) pairs.
fn small_layout() -> Vec<(String, Vec<u8>)> {
    let mut v = vec![(
        "aclImdb/counts.json".to_owned(),
        br#"{"train/pos": 1, "train/neg": 1, "test/pos": 1, "test/neg": 1}"#.to_vec(),
    )];
    for (folder, text) in [
        ("train/pos", "good"),
        ("train/neg", "bad"),
        ("test/pos", "good"),
        ("test/neg", "bad"),
    ] {
        v.push((
            format!("aclImdb/{folder}/0_5.txt"),
            text.as_bytes().to_vec(),
        ));
    }
    v
}

fn write_layout(path: &Path, layout: &[(String, Vec<u8>)]) {
    let entries: Vec<(&str, &[u8])> = layout
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    write_tar_gz(path, &entries);
}

#[test]
fn tiny_archive_loads_with_keras_encoding_and_skips_extras() {
    let cache = tempfile::tempdir().unwrap();
    let imdb = load(&fixture("tiny_aclImdb.tar.gz"), cache.path()).unwrap();
    assert_eq!((imdb.train.len(), imdb.test.len()), (6, 6));
    assert_eq!(imdb.train.label_counts(), (3, 3));
    assert_eq!(imdb.provenance.kind, SourceKind::Local(Format::TarGz));
    let index = imdb.word_index.as_ref().unwrap();
    // The unsup/ review ("unlabelled, must be ignored") and the stray notes file add no words.
    assert_eq!(index.rank("unlabelled"), None);
    assert_eq!(index.rank("stray"), None);
    // Every review starts with start_char 1 and decodes back to its words.
    for (tokens, _) in imdb.train.iter() {
        assert_eq!(tokens[0], 1);
    }
    let texts: Vec<String> = imdb
        .train
        .iter()
        .map(|(t, _)| imdb.decode(t).unwrap())
        .collect();
    assert!(
        texts.contains(&"? a wonderful film loved it".to_owned()),
        "{texts:?}"
    );
}

#[test]
fn second_load_hits_the_cache_and_options_change_the_key() {
    let cache = tempfile::tempdir().unwrap();
    let first = load(&fixture("tiny_aclImdb.tar.gz"), cache.path()).unwrap();
    let second = load(&fixture("tiny_aclImdb.tar.gz"), cache.path()).unwrap();
    assert!(!first.provenance.cache_hit);
    assert!(second.provenance.cache_hit);
    assert_eq!(first.train, second.train);
    assert_eq!(first.test, second.test);
    assert_eq!(first.word_index, second.word_index);
    let other = ImdbLoader::new(DataSource::Path(fixture("tiny_aclImdb.tar.gz")))
        .cache_dir(cache.path())
        .options(EncodeOptions {
            seed: 1,
            ..Default::default()
        })
        .load()
        .unwrap();
    assert!(!other.provenance.cache_hit);
}

#[test]
fn a_damaged_cache_is_rebuilt_not_trusted() {
    let cache = tempfile::tempdir().unwrap();
    let first = load(&fixture("tiny_aclImdb.tar.gz"), cache.path()).unwrap();
    let dir = cache.path().join("encoded");
    let file = std::fs::read_dir(&dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::write(&file, b"garbage").unwrap();
    let again = load(&fixture("tiny_aclImdb.tar.gz"), cache.path()).unwrap();
    assert!(!again.provenance.cache_hit);
    assert_eq!(again.train, first.train);
    assert!(
        load(&fixture("tiny_aclImdb.tar.gz"), cache.path())
            .unwrap()
            .provenance
            .cache_hit
    );
}

#[test]
fn unpacked_directory_equals_the_archive() {
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = std::fs::File::open(fixture("tiny_aclImdb.tar.gz")).unwrap();
    tar::Archive::new(flate2::read::GzDecoder::new(file))
        .unpack(dir.path())
        .unwrap();
    let from_dir = load(dir.path(), cache.path()).unwrap();
    let from_inner = load(&dir.path().join("aclImdb"), cache.path()).unwrap();
    let from_tar = load(&fixture("tiny_aclImdb.tar.gz"), cache.path()).unwrap();
    assert_eq!(
        from_dir.provenance.kind,
        SourceKind::Local(Format::Directory)
    );
    assert_eq!(from_dir.train, from_tar.train);
    assert_eq!(from_dir.test, from_tar.test);
    assert_eq!(from_inner.train, from_tar.train);
    // A missing file in a directory is an error; extra unknown files are not.
    std::fs::write(dir.path().join("aclImdb/test/neg/extra.bak"), b"x").unwrap();
    assert!(load(dir.path(), cache.path()).is_ok());
    let victim = std::fs::read_dir(dir.path().join("aclImdb/test/neg"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "txt"))
        .unwrap();
    std::fs::remove_file(victim).unwrap();
    let err = load(dir.path(), cache.path()).unwrap_err();
    assert!(
        matches!(err, DataError::WrongCount { ref folder, expected: 3, found: 2, .. } if folder == "test/neg"),
        "{err}"
    );
}

fn embedded(cache: &Path) -> imdb_data::Imdb {
    ImdbLoader::new(DataSource::Embedded)
        .cache_dir(cache)
        .load()
        .unwrap()
}

#[test]
fn embedded_sample_is_balanced_10_percent() {
    let cache = tempfile::tempdir().unwrap();
    let imdb = embedded(cache.path());
    assert_eq!(imdb.provenance.kind, SourceKind::Embedded);
    assert_eq!(imdb.train.label_counts(), (1_250, 1_250));
    assert_eq!(imdb.test.label_counts(), (1_250, 1_250));
    assert_eq!(imdb.train.max_token(), Some(9_999));
}

#[test]
fn a_validation_split_that_does_not_fit_names_both_sizes() {
    // The seed's 10,000 validation reviews do not fit the sample's 2,500 training reviews: the
    // error says so with both numbers instead of only "too large".
    let cache = tempfile::tempdir().unwrap();
    let imdb = embedded(cache.path());
    for asked in [0, 2_500, 10_000] {
        let err = imdb.seed_split(asked).unwrap_err();
        assert!(
            matches!(err, DataError::ValidationSplit { validation, reviews: 2_500 } if validation == asked),
            "{err}"
        );
        let text = err.to_string();
        assert!(
            text.contains(&asked.to_string()) && text.contains("2500"),
            "{text}"
        );
    }
    let (train, valid) = imdb.seed_split(1_000).unwrap();
    assert_eq!((train.len(), valid.len()), (1_500, 1_000));
}

#[test]
fn a_given_path_that_cannot_be_read_is_an_error_not_a_fallback() {
    let cache = tempfile::tempdir().unwrap();
    let err = load(Path::new("/nonexistent/aclImdb_v1.tar.gz"), cache.path()).unwrap_err();
    assert!(matches!(err, DataError::SourceUnreadable { .. }), "{err}");
    assert!(err.to_string().contains("/nonexistent/aclImdb_v1.tar.gz"));
}

#[test]
fn unknown_format_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("reviews.csv");
    std::fs::write(&path, "text,label\n").unwrap();
    let err = load(&path, dir.path()).unwrap_err();
    assert!(matches!(err, DataError::UnknownFormat { .. }), "{err}");
}

#[test]
fn truncated_and_corrupt_archives_are_corrupt_archive_errors() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(fixture("tiny_aclImdb.tar.gz")).unwrap();
    for cut in [12, bytes.len() / 2, bytes.len() - 4] {
        let path = dir.path().join(format!("cut{cut}.tar.gz"));
        std::fs::write(&path, &bytes[..cut]).unwrap();
        let err = load(&path, dir.path()).unwrap_err();
        assert!(
            matches!(err, DataError::CorruptArchive { .. }),
            "cut at {cut}: {err}"
        );
    }
    let mut flipped = bytes.clone();
    flipped[bytes.len() / 2] ^= 0xff;
    let path = dir.path().join("flipped.tar.gz");
    std::fs::write(&path, &flipped).unwrap();
    let err = load(&path, dir.path()).unwrap_err();
    assert!(matches!(err, DataError::CorruptArchive { .. }), "{err}");
    // No cache file was written for any of them.
    assert!(
        !dir.path().join("encoded").exists()
            || std::fs::read_dir(dir.path().join("encoded"))
                .unwrap()
                .count()
                == 0
    );
}

#[test]
fn missing_folder_wrong_count_and_bad_utf8_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.tar.gz");

    let no_test_pos: Vec<_> = small_layout()
        .into_iter()
        .filter(|(n, _)| !n.contains("test/pos"))
        .collect();
    write_layout(&path, &no_test_pos);
    let err = load(&path, dir.path()).unwrap_err();
    assert!(
        matches!(err, DataError::MissingFolder { ref folder, .. } if folder == "test/pos"),
        "{err}"
    );

    let mut extra = small_layout();
    extra.push(("aclImdb/train/neg/9_1.txt".into(), b"meh".to_vec()));
    write_layout(&path, &extra);
    let err = load(&path, dir.path()).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::WrongCount {
                expected: 1,
                found: 2,
                ..
            }
        ),
        "{err}"
    );

    let mut bad = small_layout();
    bad[1].1 = vec![b'o', b'k', 0xff, 0xfe];
    write_layout(&path, &bad);
    let err = load(&path, dir.path()).unwrap_err();
    assert!(
        matches!(err, DataError::InvalidUtf8 { ref entry, valid_up_to: 2, .. } if entry.ends_with("0_5.txt")),
        "{err}"
    );

    // Without counts.json the official 12,500 per folder is required.
    let no_manifest: Vec<_> = small_layout().into_iter().skip(1).collect();
    write_layout(&path, &no_manifest);
    let err = load(&path, dir.path()).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::WrongCount {
                expected: 12_500,
                found: 1,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn num_words_below_four_is_rejected_before_reading() {
    let err = ImdbLoader::new(DataSource::Path("/nonexistent".into()))
        .options(EncodeOptions::default().with_num_words(Some(3)))
        .load()
        .unwrap_err();
    assert!(
        matches!(
            err,
            DataError::InvalidOption {
                name: "num_words",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn official_source_falls_back_to_the_sample_when_the_download_is_impossible() {
    // Nothing listens on the port of a listener we just closed: the connection is refused at once.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cache = tempfile::tempdir().unwrap();
    let imdb = ImdbLoader::new(DataSource::Official)
        .cache_dir(cache.path())
        .url(format!("http://127.0.0.1:{port}/aclImdb_v1.tar.gz"))
        .quiet(true)
        .load()
        .unwrap();
    assert_eq!(imdb.provenance.kind, SourceKind::Embedded);
    assert_eq!(imdb.train.len(), 2_500);
    // Nothing that looks like a complete archive was left in the cache.
    assert!(!cache.path().join("aclImdb_v1.tar.gz").exists());
}

#[test]
fn a_wrong_checksum_from_the_server_is_an_error_not_a_fallback() {
    // A local server that answers with bytes that are not the official archive.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        use std::io::{Read, Write};
        let (mut conn, _) = listener.accept().unwrap();
        let mut buf = [0u8; 4096];
        let _ = conn.read(&mut buf);
        let body = b"not the IMDB archive";
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        conn.write_all(head.as_bytes()).unwrap();
        conn.write_all(body).unwrap();
    });
    let cache = tempfile::tempdir().unwrap();
    let err = ImdbLoader::new(DataSource::Official)
        .cache_dir(cache.path())
        .url(format!("http://127.0.0.1:{port}/aclImdb_v1.tar.gz"))
        .quiet(true)
        .load()
        .unwrap_err();
    server.join().unwrap();
    assert!(matches!(err, DataError::ChecksumMismatch { .. }), "{err}");
    assert_eq!(
        std::fs::read_dir(cache.path()).unwrap().count(),
        0,
        "the bad download was discarded"
    );
}

/// `ngrams = 2` on a real archive: terms are words and word pairs in one ranking, sequences
/// interleave them, the index spells pairs "w1 w2", the vocabulary bound counts both kinds, and
/// the cache keys on the option.
#[test]
fn bigrams_extend_the_vocabulary_and_the_sequences() {
    let cache = tempfile::tempdir().unwrap();
    let words = load(&fixture("tiny_aclImdb.tar.gz"), cache.path()).unwrap();
    let bigram_loader = |num_words| {
        ImdbLoader::new(DataSource::Path(fixture("tiny_aclImdb.tar.gz")))
            .cache_dir(cache.path())
            .options(
                EncodeOptions::keras()
                    .with_num_words(num_words)
                    .with_ngrams(2),
            )
    };
    let pairs = bigram_loader(None).load().unwrap();
    assert!(
        !pairs.provenance.cache_hit,
        "ngrams must change the cache key"
    );
    let index = pairs.word_index.as_ref().unwrap();
    assert!(index.len() > words.word_index.as_ref().unwrap().len());
    // "a wonderful film loved it": 5 words + 4 pairs after the start character.
    let review = words
        .train
        .iter()
        .position(|(t, _)| words.decode(t).unwrap() == "? a wonderful film loved it")
        .unwrap();
    let (tokens, _) = pairs.train.iter().nth(review).unwrap();
    assert_eq!(
        pairs.decode(tokens).unwrap(),
        "? a wonderful a wonderful film wonderful film loved film loved it loved it"
    );
    // Every term, pair or word, is ranked: nothing is out of vocabulary in training.
    assert!(pairs.train.iter().all(|(t, _)| !t.contains(&2)));
    // Reading the text with the index gives the training sequence (what prediction does).
    let text = "A wonderful film, loved it!";
    assert_eq!(
        pairs.options.encode_one(&index.term_ranks_of(text, 2)),
        tokens
    );

    // A bound keeps the most frequent terms of both kinds and maps the rest to OOV (2).
    let bounded = bigram_loader(Some(12)).load().unwrap();
    assert_eq!(bounded.word_index.as_ref().unwrap().len(), 12 - 3 - 1);
    assert_eq!(bounded.vocabulary_width(), 12);
    assert!(bounded.train.iter().all(|(t, _)| t.iter().all(|&i| i < 12)));
    assert!(bounded.train.iter().any(|(t, _)| t.contains(&2)));
}

#[test]
fn bigrams_need_a_word_index_and_ngrams_must_be_1_to_3() {
    let cache = tempfile::tempdir().unwrap();
    // Keras's imdb.npz alone holds ranks, not words: pairs cannot be spelled.
    let err = ImdbLoader::new(DataSource::Path(fixture("npz/imdb_p3.npz")))
        .cache_dir(cache.path())
        .options(EncodeOptions::keras().with_ngrams(2))
        .load()
        .unwrap_err();
    assert!(
        matches!(err, DataError::InvalidOption { name: "ngrams", .. }),
        "{err}"
    );
    assert!(err.to_string().contains("imdb_word_index.json"), "{err}");
    let err = ImdbLoader::new(DataSource::Path(fixture("tiny_aclImdb.tar.gz")))
        .cache_dir(cache.path())
        .options(EncodeOptions::keras().with_ngrams(4))
        .load()
        .unwrap_err();
    assert!(err.to_string().contains("ngrams"), "{err}");
}

/// `ngrams = 3` on a real archive: each word is followed by the pair and the triple it ends,
/// and reading the text with the index gives the training sequence.
#[test]
fn trigrams_follow_the_pairs() {
    let cache = tempfile::tempdir().unwrap();
    let words = load(&fixture("tiny_aclImdb.tar.gz"), cache.path()).unwrap();
    let triples = ImdbLoader::new(DataSource::Path(fixture("tiny_aclImdb.tar.gz")))
        .cache_dir(cache.path())
        .options(EncodeOptions::keras().with_num_words(None).with_ngrams(3))
        .load()
        .unwrap();
    assert!(!triples.provenance.cache_hit, "ngrams is in the cache key");
    let review = words
        .train
        .iter()
        .position(|(t, _)| words.decode(t).unwrap() == "? a wonderful film loved it")
        .unwrap();
    let (tokens, _) = triples.train.iter().nth(review).unwrap();
    assert_eq!(
        triples.decode(tokens).unwrap(),
        "? a wonderful a wonderful film wonderful film a wonderful film loved film loved \
         wonderful film loved it loved it film loved it"
    );
    let index = triples.word_index.as_ref().unwrap();
    assert_eq!(
        triples
            .options
            .encode_one(&index.term_ranks_of("A wonderful film, loved it!", 3)),
        tokens
    );
}

/// Several encodings from one read of the source equal one load per encoding, through the cache
/// and without it; a second call is all cache hits with the same data.
#[test]
fn load_each_equals_one_load_per_encoding() {
    let encodings = [
        EncodeOptions::default(),
        EncodeOptions::default()
            .with_ngrams(2)
            .with_num_words(Some(20_000)),
        EncodeOptions::default().with_num_words(Some(5_000)),
    ];
    let separate: Vec<_> = encodings
        .iter()
        .map(|o| {
            ImdbLoader::new(DataSource::Embedded)
                .options(o.clone())
                .use_cache(false)
                .load()
                .unwrap()
        })
        .collect();
    let cache = tempfile::tempdir().unwrap();
    let loader = ImdbLoader::new(DataSource::Embedded).cache_dir(cache.path());
    let uncached = ImdbLoader::new(DataSource::Embedded)
        .use_cache(false)
        .load_each(&encodings)
        .unwrap();
    let first = loader.load_each(&encodings).unwrap();
    let second = loader.load_each(&encodings).unwrap();
    for (i, one) in separate.iter().enumerate() {
        for (each, hit) in [
            (&uncached[i], false),
            (&first[i], false),
            (&second[i], true),
        ] {
            assert_eq!(each.options, encodings[i]);
            assert_eq!(each.provenance.cache_hit, hit, "encoding {i}");
            assert_eq!(each.train, one.train, "encoding {i}");
            assert_eq!(each.test, one.test, "encoding {i}");
            assert_eq!(each.word_index, one.word_index, "encoding {i}");
        }
    }
    // The encodings really differ (so the comparison above could fail).
    assert_ne!(separate[0].train, separate[1].train);
    assert_ne!(separate[0].train, separate[2].train);
    // Misses among hits (the two misses encoded together, longest first, on several threads)
    // keep their places.
    let new = [
        EncodeOptions::default().with_num_words(Some(3_000)),
        EncodeOptions::default()
            .with_ngrams(2)
            .with_num_words(Some(8_000)),
    ];
    let mixed = [
        encodings[1].clone(),
        new[0].clone(),
        encodings[0].clone(),
        new[1].clone(),
    ];
    let loaded = loader.load_each(&mixed).unwrap();
    let hits: Vec<bool> = loaded.iter().map(|l| l.provenance.cache_hit).collect();
    assert_eq!(hits, [true, false, true, false]);
    assert_eq!(loaded[0].train, separate[1].train);
    assert_eq!(loaded[2].train, separate[0].train);
    for (at, options) in [(1, &new[0]), (3, &new[1])] {
        let alone = ImdbLoader::new(DataSource::Embedded)
            .options(options.clone())
            .use_cache(false)
            .load()
            .unwrap();
        assert_eq!(loaded[at].options, *options);
        assert_eq!(loaded[at].train, alone.train, "miss at {at}");
        assert_eq!(loaded[at].test, alone.test, "miss at {at}");
    }
    assert_ne!(loaded[1].train, loaded[3].train);
}
