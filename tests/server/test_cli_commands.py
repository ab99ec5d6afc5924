"""The CLI's data commands, run as a user runs them, each against its own data directory."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import jwt
import networkx as nx
import pytest

from domain.errors import BadInput
from graph.demo import seed
from media.service import ImageService
from media.store import LocalImageStore
from server.cli import analyst as analyst_cli
from server.settings import JWT_SECRET_FILE
from tests.utils import images
from tests.utils.events import RecordedEvents

PINGRAPH = str(Path(sys.executable).with_name("pingraph"))
MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations" / "falkordb"


def pingraph(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the CLI from `data_dir`'s parent with a relative data directory, as users do."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PINGRAPH_")}
    env["PINGRAPH_DATA_DIR"] = data_dir.name
    return subprocess.run(
        [PINGRAPH, *args],
        env=env,
        cwd=data_dir.parent,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_migrate_and_status(tmp_path: Path) -> None:
    first = pingraph(tmp_path, "migrate")
    assert first.returncode == 0, first.stderr
    versions = len(list(MIGRATIONS.glob("*.cypher")))
    assert f"{versions} applied" in first.stderr
    again = pingraph(tmp_path, "migrate")
    assert "0 applied" in again.stderr
    listed = pingraph(tmp_path, "migrate", "--status")
    assert "0001" in listed.stdout
    assert "constraints" in listed.stdout
    assert "pending" not in listed.stdout
    doctor = pingraph(tmp_path, "doctor")
    assert doctor.returncode == 0, doctor.stderr
    assert "every board has one owner" in doctor.stdout
    assert "consistent with its model" in doctor.stderr


def test_user_create_prints_the_id_and_refuses_bad_input(tmp_path: Path) -> None:
    created = pingraph(tmp_path, "user", "create", "--handle", "Ada_L", "--lang", "fr")
    assert created.returncode == 0, created.stderr
    assert re.fullmatch(r"[0-9A-Z]{26}\n", created.stdout)
    duplicate = pingraph(tmp_path, "user", "create", "--handle", "ada_l")
    assert duplicate.returncode == 1
    assert "handle 'ada_l' is already taken" in duplicate.stderr
    invalid = pingraph(tmp_path, "user", "create", "--handle", "no spaces")
    assert invalid.returncode == 1
    assert "handle must be" in invalid.stderr
    assert "Traceback" not in invalid.stderr + duplicate.stderr


def test_seed_small_loads_once_with_pictures_and_media_gc_keeps_them(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    loaded = pingraph(data_dir, "seed", "--small")
    assert loaded.returncode == 0, loaded.stderr
    assert "8,000 saves" in loaded.stderr
    pictures = {p.parent.name for p in (data_dir / "media" / "images").glob("*/meta.json")}
    first_topics = {pin["topics"][0] for pin in seed.generate(seed.Sizes.small()).pins}
    assert len(first_topics) < len(pictures) <= 4 * len(first_topics)  # up to four per topic
    again = pingraph(data_dir, "seed", "--small")
    assert again.returncode == 1
    assert "already has users" in again.stderr

    orphan = asyncio.run(store_orphan(data_dir / "media"))
    dry = pingraph(data_dir, "media", "gc", "--grace-hours", "0", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "would delete 1 unused images" in dry.stderr
    assert dry.stdout.split() == [orphan]
    done = pingraph(data_dir, "media", "gc", "--grace-hours", "0")
    assert "deleted 1 unused images (5 objects" in done.stderr
    left = {p.parent.name for p in (data_dir / "media" / "images").glob("*/meta.json")}
    assert left == pictures  # every seeded picture is used by a pin

    built = pingraph(data_dir, "walks", "build", "--prune-delta", "0.9")
    assert built.returncode == 0, built.stderr
    assert re.search(r"walk graph \S+: [\d,]+ pins, [\d,]+ boards, [\d,]+ edges", built.stderr)
    snapshots = [p for p in (data_dir / "walks").iterdir() if (p / "meta.json").is_file()]
    assert len(snapshots) == 1
    nothing = pingraph(data_dir, "walks", "compact")
    assert nothing.returncode == 0, nothing.stderr
    assert "nothing to compact" in nothing.stderr

    check_analyst_commands(data_dir)
    check_visual_index(data_dir)


def check_visual_index(data_dir: Path) -> None:
    """The seed indexed every pin's picture; `visual index` finds nothing left, `--all`
    re-indexes them all, and a pin in a whole node shows its embedding summarised."""
    count = "MATCH (p:Pin) WHERE p.embedding IS NOT NULL RETURN count(p) AS n"
    indexed = pingraph(data_dir, "cypher", count, "--format", "csv")
    assert indexed.stdout.splitlines() == ["n", str(seed.Sizes.small().pins)]
    nothing = pingraph(data_dir, "visual", "index")
    assert nothing.returncode == 0, nothing.stderr
    assert "indexed 0 pins" in nothing.stderr
    everything = pingraph(data_dir, "visual", "index", "--all")
    assert everything.returncode == 0, everything.stderr
    assert f"indexed {seed.Sizes.small().pins:,} pins" in everything.stderr
    node = pingraph(data_dir, "cypher", "MATCH (p:Pin) RETURN p LIMIT 1", "--format", "json")
    assert "<vector of 1280 floats>" in node.stdout


def check_analyst_commands(data_dir: Path) -> None:
    """`pingraph cypher` and `pingraph export` on the seeded demo graph."""
    top = "MATCH (u:User) RETURN u.handle AS handle, u.lang AS lang ORDER BY handle LIMIT $n"
    table = pingraph(data_dir, "cypher", top, "--param", "n=3")
    assert table.returncode == 0, table.stderr
    assert "handle" in table.stdout
    assert "demo" in table.stdout
    assert "3 rows" in table.stderr
    as_json = pingraph(data_dir, "cypher", top, "-p", "n=2", "--format", "json")
    answer = json.loads(as_json.stdout)
    assert answer["columns"] == ["handle", "lang"]
    assert answer["rows"][0][0] == "demo"
    assert len(answer["rows"]) == 2
    as_csv = pingraph(data_dir, "cypher", top, "-p", "n=5", "--format", "csv", "--limit", "2")
    assert as_csv.stdout.splitlines()[0] == "handle,lang"
    assert len(as_csv.stdout.splitlines()) == 3
    assert "truncated at 2 rows" in as_csv.stderr
    query_file = data_dir.parent / "boards.cypher"
    query_file.write_text("MATCH (b:Board) RETURN count(b) AS boards;\n")
    from_file = pingraph(data_dir, "cypher", "-f", str(query_file), "--format", "csv")
    assert from_file.stdout.splitlines() == [
        "boards",
        str(len(seed.generate(seed.Sizes.small()).boards)),
    ]
    refused = pingraph(data_dir, "cypher", "MATCH (n) DETACH DELETE n")
    assert refused.returncode == 1
    assert "read-only" in refused.stderr
    neither = pingraph(data_dir, "cypher")
    assert neither.returncode == 1
    assert "give a query" in neither.stderr

    graphml = data_dir.parent / "demo.graphml"
    exported = pingraph(
        data_dir, "export", "--query",
        "MATCH path = (:User {handle: $h})-[:OWNS]->(:Board)<-[:SAVED_TO]-(:Pin) RETURN path",
        "--param", "h=demo", "--format", "graphml", "--output", str(graphml),
    )  # fmt: skip
    assert exported.returncode == 0, exported.stderr
    graph = nx.read_graphml(graphml)
    assert re.search(rf"exported {graph.number_of_nodes():,} nodes and "
                     rf"{graph.number_of_edges():,} relationships", exported.stderr)  # fmt: skip
    labels = Counter(data["labels"] for _, data in graph.nodes(data=True))
    assert labels["User"] == 1
    assert labels["Board"] >= 1
    assert labels["Pin"] >= 1
    kinds = {data["type"] for _, _, data in graph.edges(data=True)}
    assert kinds == {"OWNS", "SAVED_TO"}


LIBRARY = """// A library of our own, in the format of docs/analyst-queries.cypher.

// name: numbers
// Numbers up to $n, each with a word.
// params: {"n": 2, "word": "hi"}
UNWIND range(1, $n) AS x
RETURN x, $word AS word;

// name: migrations
// The applied migrations, as nodes.
MATCH (m:Migration) RETURN m;
"""


def test_cypher_runs_named_queries_and_explains_mistakes(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    assert pingraph(data_dir, "migrate").returncode == 0
    library = tmp_path / "mine.cypher"
    library.write_text(LIBRARY)

    listed = pingraph(data_dir, "cypher", "--list", "--library", str(library))
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines() == [
        'numbers     Numbers up to $n, each with a word.  params: {"n":2,"word":"hi"}',
        "migrations  The applied migrations, as nodes.",
    ]
    named = pingraph(data_dir, "cypher", "--name", "numbers", "--library", str(library),
                     "--param", "n=3", "--format", "csv")  # fmt: skip
    assert named.returncode == 0, named.stderr
    assert named.stdout.splitlines() == ["x,word", "1,hi", "2,hi", "3,hi"]
    unknown = pingraph(data_dir, "cypher", "--name", "number", "--library", str(library))
    assert unknown.returncode == 1
    assert "no query named 'number' in the library: did you mean numbers?" in unknown.stderr
    assert f"pingraph cypher --list --library {library} shows them all" in unknown.stderr
    whole_file = pingraph(data_dir, "cypher", "-f", str(library))
    assert whole_file.returncode == 1
    assert f"{library} holds several statements" in whole_file.stderr
    assert "--name NAME" in whole_file.stderr
    # The repository's library, found from any working directory.
    default = pingraph(data_dir, "cypher", "--name", "users-by-language", "--format", "csv")
    assert default.returncode == 0, default.stderr
    assert default.stdout.splitlines() == ["lang,users"]
    assert "top-boards-by-saves" in pingraph(data_dir, "cypher", "--list").stdout

    missing = pingraph(data_dir, "cypher", "RETURN $who AS who, $n AS n", "--param", "n=1")
    assert missing.returncode == 1
    assert "missing parameter $who:" in missing.stderr
    assert "--param who=VALUE" in missing.stderr
    slow = pingraph(data_dir, "cypher", "--timeout-ms", "100",
                    "UNWIND range(1, 1000) AS a UNWIND range(1, 1000) AS b "
                    "UNWIND range(1, 1000) AS c RETURN count(*)")  # fmt: skip
    assert slow.returncode == 1
    assert "time limit of 100 ms: raise it, up to 60,000 ms" in slow.stderr
    assert "--timeout-ms" in slow.stderr

    graphml = tmp_path / "nothing.graphml"
    nothing = pingraph(data_dir, "export", "--query", "MATCH (m:Migration) RETURN m.version",
                       "-o", str(graphml))  # fmt: skip
    assert nothing.returncode == 1
    assert "the query returned no nodes" in nothing.stderr
    assert "return nodes, relationships or paths" in nothing.stderr
    assert not graphml.exists()
    exported = pingraph(data_dir, "export", "--name", "migrations", "--library", str(library),
                        "-o", str(graphml))  # fmt: skip
    assert exported.returncode == 0, exported.stderr
    versions = len(list(MIGRATIONS.glob("*.cypher")))
    assert nx.read_graphml(graphml).number_of_nodes() == versions
    assert "Traceback" not in named.stderr + unknown.stderr + missing.stderr + nothing.stderr


def test_without_docs_the_library_must_be_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Docker image has no docs/: --name and --list then say to pass --library."""
    monkeypatch.setattr(analyst_cli, "DEFAULT_LIBRARY", tmp_path / "absent.cypher")
    with pytest.raises(BadInput, match="pass --library PATH"):
        analyst_cli.library_listing(None)
    library = tmp_path / "mine.cypher"
    library.write_text(LIBRARY)
    assert analyst_cli.library_query(library, "numbers").params == {"n": 2, "word": "hi"}


async def store_orphan(media_dir: Path) -> str:
    """An upload whose pin never came."""
    service = ImageService(LocalImageStore(media_dir), RecordedEvents())
    return (await service.upload(images.jpeg(color=(1, 99, 1)))).info.key


def test_token_issue(tmp_path: Path) -> None:
    created = pingraph(tmp_path, "user", "create", "--handle", "tokened")
    user_id = created.stdout.strip()
    issued = pingraph(
        tmp_path, "token", "issue", "--handle", "tokened", "--role", "analyst", "--role", "user"
    )
    assert issued.returncode == 0, issued.stderr
    # No PINGRAPH_JWT_SECRET: the data directory's generated one, which a server started on
    # that directory uses too.
    secret = (tmp_path / JWT_SECRET_FILE).read_text().strip()
    claims = jwt.decode(issued.stdout.strip(), secret, algorithms=["HS256"])
    assert claims["sub"] == user_id
    assert claims["roles"] == ["analyst", "user"]
    assert 0 < claims["exp"] - claims["iat"] <= 7 * 24 * 3600
    unknown = pingraph(tmp_path, "token", "issue", "--handle", "nobody")
    assert unknown.returncode == 1
    assert "no user with handle 'nobody'" in unknown.stderr
    assert f"the embedded store in {tmp_path}" in unknown.stderr.replace("\n", "")
    bad_role = pingraph(tmp_path, "token", "issue", "--handle", "tokened", "--role", "admin")
    assert bad_role.returncode == 2
    assert "admin" in bad_role.stderr
