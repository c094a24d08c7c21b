use predicates::prelude::*;

use crate::{fixture, json_of, recagent};

#[test]
fn index_build_then_search_and_link() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    recagent(h)
        .args(["search", "tiny", "star"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "recagent data import DIR --name tiny",
        ));
    recagent(h)
        .args(["data", "import"])
        .arg(fixture("tiny"))
        .args(["--name", "tiny"])
        .assert()
        .success();
    recagent(h)
        .args(["search", "tiny", "star"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "run `recagent index build tiny` first",
        ));
    recagent(h)
        .args(["index", "build", "tiny"])
        .assert()
        .success();
    let v = json_of(
        &recagent(h)
            .args(["search", "tiny", "star wars", "--json"])
            .output()
            .unwrap(),
    );
    assert_eq!(v[0]["id"], "sku-4");
    recagent(h)
        .args([
            "search",
            "tiny",
            "",
            "--genre",
            "horror",
            "--year-min",
            "1978",
        ])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("Alien (1979)")
                .and(predicate::str::contains("Star Wars").not()),
        );
    recagent(h)
        .args(["search", "tiny", "we loved toy story", "--link"])
        .assert()
        .success()
        .stdout(predicate::str::contains("1.00  Toy Story (1995)"));
    recagent(h)
        .args(["search", "tiny", "x", "--genre", "polka"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("unknown genre"));
}
