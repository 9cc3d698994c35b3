"""Pull and pin: huggingface_hub against the Hub (or any Hub-compatible endpoint), or a local hub folder.

Every pulled file is verified: against the catalog's sha256 pin when there is one, else against the hash the
Hub reports (sha256 for LFS files, the git blob id for regular ones). A bad file leaves the cache.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from zoo.atomic import replacing, write_text
from zoo.cachefile import cache_dir, read_cache
from zoo.catalog import COMMIT_RE
from zoo.claims import Claim, ForeignRepo, claim
from zoo.errors import UsageError, ZooError
from zoo.integrity import Digests, FollowingDigest, VerificationError, VerifiedRecords, matches, verify
from zoo.paths import check_branch, check_repo_id, check_repo_path
from zoo.registry import get_registry
from zoo.runs import is_zoo_config, read_config_json
from zoo.weights import PICKLE_SUFFIXES

# Files at least this large are hashed while they download (see integrity.FollowingDigest).
FOLLOW_MIN_SIZE = 16 * 1024 * 1024
# Weights in other frameworks' formats: never pulled, since zoo loads only PyTorch weights.
OTHER_FORMATS = (".h5", ".msgpack", ".onnx", ".ot", ".tflite", ".mlmodel", ".gguf", ".pb")


@dataclass(frozen=True)
class Target:
    """What to pull: a repo at a revision, with the catalog's sha256 pins when it came from the catalog."""

    repo_id: str
    revision: str
    name: str | None = None
    pins: Mapping[str, str] = field(default_factory=dict)


@dataclass
class Fetched:
    """Files brought into the cache: where, at which commit, each one's reference digest and listed size."""

    folder: Path
    commit: str
    expected: dict[str, str]
    sizes: dict[str, int]
    listed: list[str]
    #: digests computed while downloading (FollowingDigest), so verification need not read those files again
    hashed: dict[str, Digests] = field(default_factory=dict)


@dataclass(frozen=True)
class PulledFile:
    path: str
    sha256: str
    size: int


@dataclass
class PullResult:
    name: str | None
    repo_id: str
    revision: str
    path: Path
    files: list[PulledFile]
    config: dict[str, Any] | None = None
    #: every file the repository holds at that revision (pulled or not)
    listed: list[str] = field(default_factory=list)
    #: how a plugin loads it, for a repo saved by another library that no catalog entry names
    claim: Claim | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "repo_id": self.repo_id,
            "revision": self.revision,
            "path": str(self.path),
            "files": [asdict(f) for f in self.files],
        }


def library() -> dict[str, str]:
    """How zoo names itself in the user-agent of every Hub request, as timm and transformers do."""
    from zoo import __version__

    return {"library_name": "zoo", "library_version": __version__}


def hub_location(hub: str | os.PathLike[str] | None) -> str | None:
    """The hub to use: the argument, else ZOO_HUB, else None (huggingface_hub's own endpoint, HF_ENDPOINT)."""
    value = hub if hub is not None else os.environ.get("ZOO_HUB") or None
    return None if value is None else str(value)


def is_local(location: str | None) -> bool:
    return location is not None and not re.match(r"^https?://", location)


def describe(location: str | None) -> str:
    if is_local(location):
        return f"the local hub {location}"
    from huggingface_hub import constants

    return location or constants.ENDPOINT


def resolve_target(name_or_repo: str, revision: str | None = None) -> Target:
    """A catalog name (`arch.tag`, or a bare arch for its default weights) or a repo id `org/name[@rev]`."""
    if "/" in name_or_repo:
        repo_id, _, at = name_or_repo.partition("@")
        return Target(repo_id=check_repo_id(repo_id), revision=check_branch(revision or at or "main", "revision"))
    entry = get_registry().weights_entry(name_or_repo)
    pinned = revision is None or revision == entry.revision
    return Target(
        repo_id=entry.source,
        revision=revision or entry.revision,
        name=entry.name,
        pins=dict(entry.files) if pinned else {},
    )


def select_files(paths: list[str], pins: Mapping[str, str], allow_pickle: bool, where: str) -> list[str]:
    """Which repository files to pull: the pinned ones, else all but pickles (unless allowed) and other formats."""
    for path in paths:
        check_repo_path(path)
    if pins:
        absent = sorted(set(pins) - set(paths))
        if absent:
            raise UsageError(f"the catalog pins {', '.join(absent)}, which {where} does not have at that revision")
        return sorted(pins)
    chosen = [p for p in paths if not p.endswith(OTHER_FORMATS) and (allow_pickle or not p.endswith(PICKLE_SUFFIXES))]
    only_pickles = not any(p.endswith(".safetensors") for p in paths) and any(
        p.endswith(PICKLE_SUFFIXES) for p in paths
    )
    if only_pickles and not allow_pickle:
        raise UsageError(
            f"{where} has only pickle weights, which can run code when loaded. Pass --allow-pickle "
            "(allow_pickle=True) to pull them; they then load with torch.load(weights_only=True)."
        )
    return sorted(chosen)


def _transport_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [ConnectionError, TimeoutError]
    for module in ("httpx2", "httpx"):
        with suppress(ImportError, AttributeError):
            errors.append(__import__(module).TransportError)
    return tuple(errors)


@contextmanager
def hub_errors(target_text: str, where: str, offline: bool = False) -> Iterator[None]:
    """Turn huggingface_hub's and the network's exceptions into one-line zoo errors (never showing a token)."""
    from huggingface_hub import errors

    try:
        yield
    except errors.RevisionNotFoundError:
        raise UsageError(f"{target_text}: no such revision on {where}. Check the branch, tag or commit.") from None
    except errors.GatedRepoError:
        raise ZooError(f"{target_text} is gated on {where}: accept its terms there, then set HF_TOKEN.") from None
    except errors.RepositoryNotFoundError:
        raise UsageError(
            f"{target_text} was not found on {where} (or it is private, or the revision does not "
            "exist): check the repo id and revision, and set HF_TOKEN for private repos."
        ) from None
    except errors.LocalEntryNotFoundError as exc:
        if offline:
            raise ZooError(
                f"{target_text} is not in the local cache: pull it once online (without --offline or HF_HUB_OFFLINE)."
            ) from None
        raise ZooError(
            f"cannot reach {where}: {str(exc).splitlines()[-1]}. Check the network and HF_ENDPOINT, "
            "or pull with --offline from the cache."
        ) from None
    except errors.EntryNotFoundError:
        raise UsageError(f"{target_text}: a file is missing on {where}") from None
    except errors.HfHubHTTPError as exc:
        status = exc.response.status_code if exc.response is not None else None
        if status in (401, 403):
            raise ZooError(
                f"{where} refused the request ({status}): set HF_TOKEN to a token with access to "
                f"{target_text.split('@')[0]}, or run 'hf auth login'."
            ) from None
        raise ZooError(f"{where} answered {status} for {target_text}: {str(exc).splitlines()[0]}") from None
    except _transport_errors() as exc:
        raise ZooError(
            f"cannot reach {where} ({exc}). Check the network and HF_ENDPOINT, or pull with --offline from the cache."
        ) from None


def _verify_all(fetched: Fetched) -> list[PulledFile]:
    records = VerifiedRecords()
    try:
        out = []
        for path in sorted(fetched.expected):
            local, expected = fetched.folder / path, fetched.expected[path]
            streamed = fetched.hashed.get(path)
            if streamed is not None and matches(streamed, expected):
                records.add(local, streamed, expected)  # hashed as it arrived: verify() need not read it again
            digests = verify(local, path, expected, records, fetched.sizes.get(path))
            out.append(PulledFile(path=path, sha256=digests.sha256, size=digests.size))
        return out
    finally:
        records.save()


def _hf_cache_folder(repo_id: str) -> Path:
    from huggingface_hub import constants
    from huggingface_hub.file_download import repo_folder_name

    return Path(constants.HF_HUB_CACHE) / repo_folder_name(repo_id=repo_id, repo_type="model")


def _pull_remote(
    target: Target, endpoint: str | None, offline: bool, allow_pickle: bool, want: Callable[[str], bool]
) -> Fetched:
    from huggingface_hub import HfApi, constants, hf_hub_download, snapshot_download
    from huggingface_hub.errors import RemoteEntryNotFoundError

    from zoo.progress import RichTqdm

    where = describe(endpoint)
    text = f"{target.repo_id}@{target.revision}"
    if offline or constants.HF_HUB_OFFLINE:
        with hub_errors(text, where, offline=True):
            folder = Path(
                snapshot_download(target.repo_id, revision=target.revision, local_files_only=True, **library())
            )
        records = VerifiedRecords()
        expected = {}
        for file in sorted(p for p in folder.rglob("*") if p.is_file()):
            path = file.relative_to(folder).as_posix()
            reference = target.pins.get(path) or records.expected(file)
            if reference is None:
                raise VerificationError(f"{path} in the cache was never verified: pull {text} once online.")
            expected[path] = reference
        return Fetched(folder, folder.name, expected, {}, sorted(expected))
    api = HfApi(endpoint=endpoint, **library())
    with hub_errors(text, where):
        commit = target.revision
        sizes: dict[str, int] = {}
        if not COMMIT_RE.fullmatch(commit):
            commit = api.model_info(target.repo_id, revision=target.revision).sha
        if target.pins:  # the catalog already names every file and its sha256: no listing needed
            expected = dict(target.pins)
            listed = select_files(list(expected), {}, True, where)
        else:
            listing = _listing(api, target.repo_id, commit)
            reference, sizes = {p: ref for p, (ref, _) in listing.items()}, {p: n for p, (_, n) in listing.items()}
            listed = sorted(reference)
            chosen = select_files(listed, {}, allow_pickle, f"{target.repo_id}@{commit}")
            expected = {p: reference[p] for p in chosen}
        expected = {p: ref for p, ref in expected.items() if want(p)}
        hashed: dict[str, Digests] = {}
        blobs = _hf_cache_folder(target.repo_id) / "blobs"

        # One hf_hub_download per file at the resolved commit: a cached file costs no request, and the
        # listing above is not fetched a second time (snapshot_download would list the tree again).
        def fetch(path: str) -> None:
            algorithm, _, digest = expected[path].partition(":")
            follower = None
            if algorithm == "sha256" and sizes.get(path, FOLLOW_MIN_SIZE) >= FOLLOW_MIN_SIZE:  # hash while it comes
                follower = FollowingDigest(blobs, f"{digest}*.incomplete")
                follower.start()
            progress = RichTqdm
            if follower is not None:  # a restarted download voids what was hashed of it
                progress = type("Progress", (RichTqdm,), {"rewound": lambda _self: follower.rewound()})
            try:
                local = hf_hub_download(
                    target.repo_id, path, revision=commit, endpoint=endpoint, tqdm_class=progress, **library()
                )
            except RemoteEntryNotFoundError:
                raise UsageError(
                    f"{path} is not in {target.repo_id}@{commit} on {where}, though the catalog "
                    "pins it: fix the entry or run 'zoo pin' again."
                ) from None
            except OSError as exc:  # huggingface_hub's size check: the bytes that came are not the size announced
                if "Consistency check failed" not in str(exc):
                    raise
                _drop_incomplete(target.repo_id, expected[path])
                raise VerificationError(
                    f"{path} failed verification: {str(exc).splitlines()[0]} Nothing was kept; pull again, "
                    "and report it to the repository's owner if it happens again."
                ) from None
            finally:
                if follower is not None:
                    follower.finished.set()
            digests = follower.result(Path(local)) if follower is not None else None
            if digests is not None:
                hashed[path] = digests

        with ThreadPoolExecutor(max_workers=min(8, len(expected) or 1)) as pool:
            list(pool.map(fetch, sorted(expected)))
        folder = _hf_cache_folder(target.repo_id) / "snapshots" / commit
    if commit != target.revision:  # remember the branch, so an offline pull of it finds this commit
        ref = _hf_cache_folder(target.repo_id) / "refs" / target.revision
        ref.parent.mkdir(parents=True, exist_ok=True)
        if not ref.is_file() or ref.read_text().strip() != commit:
            write_text(ref, commit)
    return Fetched(folder, commit, expected, sizes, listed, hashed)


def _listing(api: Any, repo_id: str, commit: str) -> dict[str, tuple[str, int]]:
    """Each file of a commit with the Hub's reference digest and size. A commit's listing never changes, so it is
    kept in zoo's cache after the first pull: a second pull of that commit asks the Hub only what `main` is."""
    from huggingface_hub.hf_api import RepoFile

    path = cache_dir() / "listings" / repo_id / f"{commit}.json"
    cached = read_cache(path, "the repository will be listed again")
    if cached and all(_listed_entry(v) for v in cached.values()):
        return {p: (ref, size) for p, (ref, size) in cached.items()}
    listing = {
        f.path: (f"sha256:{f.lfs.sha256}" if f.lfs else f"git-sha1:{f.blob_id}", f.lfs.size if f.lfs else f.size)
        for f in api.list_repo_tree(repo_id, revision=commit, recursive=True)
        if isinstance(f, RepoFile)
    }
    with suppress(OSError):  # a cache that cannot be written costs only a listing next time
        write_text(path, json.dumps(listing))
    return listing


def _listed_entry(value: object) -> bool:
    return (
        isinstance(value, list)
        and len(value) == 2
        and isinstance(value[0], str)
        and re.fullmatch(r"sha256:[0-9a-f]{64}|git-sha1:[0-9a-f]{40}", value[0]) is not None
        and isinstance(value[1], int)
    )


def _drop_incomplete(repo_id: str, reference: str) -> None:
    """Delete the partial download huggingface_hub keeps for a resume, when what it announced was wrong."""
    for partial in (_hf_cache_folder(repo_id) / "blobs").glob(f"{reference.partition(':')[2]}*.incomplete"):
        partial.unlink(missing_ok=True)


def _pull_local(target: Target, root: str, allow_pickle: bool, want: Callable[[str], bool]) -> Fetched:
    from zoo.localhub import LocalHub

    hub = LocalHub(root)
    commit = hub.resolve(target.repo_id, target.revision)
    if commit is None:
        raise UsageError(f"{target.repo_id} in {describe(root)} has no commits yet: publish to it first.")
    tree = {e.path: e for e in hub.tree(target.repo_id, commit)}
    chosen = [p for p in select_files(sorted(tree), target.pins, allow_pickle, f"{target.repo_id}@{commit}") if want(p)]
    folder = cache_dir() / "local-hub" / target.repo_id / commit
    for path in chosen:
        dest = folder / path
        if not dest.is_file():
            with replacing(dest) as tmp:
                hub.read_blob(target.repo_id, tree[path].oid, tmp)
    expected = {p: target.pins.get(p) or f"git-sha1:{tree[p].oid}" for p in chosen}
    return Fetched(folder, commit, expected, {p: tree[p].size for p in chosen}, sorted(tree))


def _fetch(
    target: Target,
    hub: str | os.PathLike[str] | None,
    offline: bool,
    allow_pickle: bool,
    want: Callable[[str], bool] = lambda _path: True,
) -> tuple[Fetched, list[PulledFile]]:
    """Bring a target's files (those `want` keeps) into the cache from a local hub folder or an endpoint, and
    verify every one."""
    location = hub_location(hub)
    if is_local(location):
        fetched = _pull_local(target, location, allow_pickle, want)
    else:
        fetched = _pull_remote(target, location, offline, allow_pickle, want)
    return fetched, _verify_all(fetched)


def is_metadata(path: str) -> bool:
    """A small file that says what a repo holds (config.json, vocab.json, ...), not weights."""
    return path.endswith((".json", ".txt"))


def foreign_repo(result: PullResult) -> ForeignRepo:
    """A pulled repo as a plugin's claim_repo sees it."""
    folder = result.path

    def reader(path: str) -> Path | None:
        local = folder / check_repo_path(path)
        return local if local.is_file() else None

    config = result.config if isinstance(result.config, dict) else {}
    return ForeignRepo(result.repo_id, result.revision, config, tuple(result.listed), reader)


def download(
    name_or_repo: str,
    revision: str | None = None,
    hub: str | os.PathLike[str] | None = None,
    offline: bool = False,
    allow_pickle: bool = False,
    metadata_only: bool = False,
) -> PullResult:
    """Pull a catalog name or repo id, verify every file, and describe what landed where.

    A repo id that zoo did not publish must be claimed by a plugin (see zoo.claims). `metadata_only` pulls the
    small files that describe a repo (config.json and the like), not its weights.
    """
    target = resolve_target(name_or_repo, revision)
    fetched, files = _fetch(target, hub, offline, allow_pickle, is_metadata if metadata_only else lambda _p: True)
    result = PullResult(
        name=target.name,
        repo_id=target.repo_id,
        revision=fetched.commit,
        path=fetched.folder,
        files=files,
        config=read_config_json(fetched.folder),
        listed=fetched.listed,
    )
    if target.name is None and not is_zoo_config(result.config):
        result.claim = claim(foreign_repo(result))
    return result


def pull(
    name_or_repo: str,
    revision: str | None = None,
    hub: str | os.PathLike[str] | None = None,
    offline: bool = False,
    allow_pickle: bool = False,
) -> Path:
    """Pull verified weights into the cache and return the local folder (`zoo pull`)."""
    return download(name_or_repo, revision, hub, offline, allow_pickle).path


def pin(
    name: str, registry: str | os.PathLike[str] | None = None, hub: str | os.PathLike[str] | None = None
) -> tuple[Path, PullResult]:
    """Resolve a catalog entry's branch to a commit and record each file's sha256 in its catalog file."""
    from zoo.catalog_edit import entry_table, upsert_entry

    entry = get_registry().weights_entry(name)
    if registry is None and "(plugin " in entry.origin:
        raise UsageError(
            f"'{entry.name}' comes from a plugin's catalog ({entry.origin}): pass --registry FILE "
            "to pin it into a catalog file of yours."
        )
    path = Path(registry or entry.origin)
    # Re-pinning checks the files against the Hub's own hashes, not the old pins.
    branch_target = Target(repo_id=entry.source, revision=entry.revision, name=entry.name)
    fetched, files = _fetch(branch_target, hub, offline=False, allow_pickle=False)
    result = PullResult(
        name=entry.name, repo_id=entry.source, revision=fetched.commit, path=fetched.folder, files=files
    )
    table = entry_table(
        model=entry.model,
        source=entry.source,
        revision=fetched.commit,
        task=entry.task,
        license=entry.license,
        description=entry.description or None,
        default=entry.default or None,
        files={f.path: f"sha256:{f.sha256}" for f in files},
        metrics=dict(entry.metrics),
        preprocessing=dict(entry.preprocessing),
    )
    return upsert_entry(path, entry.name, table), result
