"""A Hub endpoint (huggingface.co, HF_ENDPOINT or any Hub-compatible server) through huggingface_hub: every remote
call zoo makes, and the translation of huggingface_hub's and the network's errors into one-line zoo errors."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from zoo._version import __version__
from zoo.core.atomic import write_text
from zoo.core.cache import cache_dir, read_cache
from zoo.core.errors import UsageError, ZooError
from zoo.core.schema import DocumentError, Fields, ListOf, MapOf, Maybe, Number, validate
from zoo.core.text import printable
from zoo.hub.integrity import Digests, FollowingDigest, VerificationError, VerifiedRecords
from zoo.hub.rules import Line, RepoId, Timestamp
from zoo.hub.selection import select_files
from zoo.hub.transport import Fetched, Target, Transport
from zoo.plugin.weights_entry import COMMIT_RE

# Files at least this large are hashed while they download (see integrity.FollowingDigest).
FOLLOW_MIN_SIZE = 16 * 1024 * 1024
# Model search follows at most this many pages (a server could link pages forever).
SEARCH_PAGES = 100
COUNT = Maybe(Number("[0, inf)", integer=True))
#: one page of GET /api/models: the fields `zoo search` shows, checked where the answer is read
SEARCH_ANSWER = ListOf(
    Fields(
        {
            "id": RepoId(),
            "downloads": COUNT,
            "likes": COUNT,
            "lastModified": Maybe(Timestamp()),
            "pipeline_tag": Maybe(Line(max_length=100)),
            "cardData": Maybe(MapOf()),
        },
        required=("id",),
    )
)


class RemoteTransport(Transport):
    """A Hub endpoint: `endpoint` None is huggingface_hub's own (HF_ENDPOINT, else huggingface.co)."""

    def __init__(self, endpoint: str | None) -> None:
        self.endpoint = endpoint

    @cached_property
    def api(self) -> Any:
        """The one HfApi client of this hub, naming zoo in its user-agent."""
        from huggingface_hub import HfApi

        return HfApi(endpoint=self.endpoint, **library())

    def describe(self) -> str:
        from huggingface_hub import constants

        return self.endpoint or constants.ENDPOINT

    # Pull ------------------------------------------------------------------------------------------------------

    def fetch(self, target: Target, offline: bool, allow_pickle: bool, want: Callable[[str], bool]) -> Fetched:
        from huggingface_hub import constants

        if offline or constants.HF_HUB_OFFLINE:
            return self._from_cache(target)
        with hub_errors(f"{target.repo_id}@{target.revision}", self.describe()):
            commit = target.revision
            if not COMMIT_RE.fullmatch(commit):
                commit = self.api.repo_info(target.repo_id, revision=target.revision, repo_type=target.repo_type).sha
            expected, sizes, listed = self._expected(target, commit, allow_pickle)
            expected = {p: ref for p, ref in expected.items() if want(p)}
            # One hf_hub_download per file at the resolved commit: a cached file costs no request, and the
            # listing is not fetched a second time (snapshot_download would list the tree again).
            with ThreadPoolExecutor(max_workers=min(8, len(expected) or 1)) as pool:
                digests = pool.map(lambda p: self._download(target, commit, p, expected[p], sizes.get(p)), expected)
                hashed = {p: d for p, d in zip(expected, digests, strict=True) if d is not None}
        if commit != target.revision:  # remember the branch, so an offline pull of it finds this commit
            ref = hf_cache_folder(target.repo_id, target.repo_type) / "refs" / target.revision
            ref.parent.mkdir(parents=True, exist_ok=True)
            if not ref.is_file() or ref.read_text().strip() != commit:
                write_text(ref, commit)
        folder = hf_cache_folder(target.repo_id, target.repo_type) / "snapshots" / commit
        return Fetched(folder, commit, expected, sizes, listed, hashed)

    def _expected(
        self, target: Target, commit: str, allow_pickle: bool
    ) -> tuple[dict[str, str], dict[str, int], list[str]]:
        """The files to pull with their reference digests, the sizes the Hub lists, and every file listed."""
        if target.pins:  # the catalog already names every file and its sha256: no listing needed
            return dict(target.pins), {}, select_files(list(target.pins), {}, True, self.describe())
        listing = _listing(self.api, target.repo_id, commit, target.repo_type)
        listed = sorted(listing)
        if target.repo_type != "model":  # the caller's `want` chooses a dataset's files
            return {p: ref for p, (ref, _) in listing.items()}, {p: s for p, (_, s) in listing.items()}, listed
        chosen = select_files(listed, {}, allow_pickle, f"{target.repo_id}@{commit}")
        return {p: listing[p][0] for p in chosen}, {p: size for p, (_, size) in listing.items()}, listed

    def _download(self, target: Target, commit: str, path: str, reference: str, size: int | None) -> Digests | None:
        """Download one file into the HF cache; its digests when they were computed as it arrived."""
        from huggingface_hub import hf_hub_download
        from huggingface_hub.errors import RemoteEntryNotFoundError

        from zoo.hub.download_progress import RichTqdm

        algorithm, _, digest = reference.partition(":")
        follower = progress = None
        large = (FOLLOW_MIN_SIZE if size is None else size) >= FOLLOW_MIN_SIZE
        if algorithm == "sha256" and large:  # hash it as it comes
            blobs = hf_cache_folder(target.repo_id, target.repo_type) / "blobs"
            follower = FollowingDigest(blobs, f"{digest}*.incomplete")
            follower.start()
            # a restarted download voids what was hashed of it
            progress = type("Progress", (RichTqdm,), {"rewound": lambda _self: follower.rewound()})
        try:
            local = hf_hub_download(
                target.repo_id,
                path,
                revision=commit,
                repo_type=target.repo_type,
                endpoint=self.endpoint,
                tqdm_class=progress or RichTqdm,
                **library(),
            )
        except RemoteEntryNotFoundError:
            raise UsageError(
                f"{path} is not in {target.repo_id}@{commit} on {self.describe()}, though the catalog "
                "pins it: fix the entry or run 'zoo pin' again."
            ) from None
        except OSError as exc:  # huggingface_hub's size check: the bytes that came are not the size announced
            if "Consistency check failed" not in str(exc):
                raise
            _drop_incomplete(target.repo_id, reference, target.repo_type)
            raise VerificationError(
                f"{path} failed verification: {str(exc).splitlines()[0]} Nothing was kept; pull again, "
                "and report it to the repository's owner if it happens again."
            ) from None
        finally:
            if follower is not None:
                follower.finished.set()
        return follower.result(Path(local)) if follower is not None else None

    def _from_cache(self, target: Target) -> Fetched:
        """Offline: the files cached for the target, each with the reference it was verified against online."""
        from huggingface_hub import snapshot_download

        text = f"{target.repo_id}@{target.revision}"
        with hub_errors(text, self.describe(), offline=True):
            folder = Path(
                snapshot_download(
                    target.repo_id,
                    revision=target.revision,
                    repo_type=target.repo_type,
                    local_files_only=True,
                    **library(),
                )
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

    # Publish and search ------------------------------------------------------------------------------------------

    def commit(
        self,
        repo_id: str,
        files: Mapping[str, Path],
        message: str,
        revision: str,
        private: bool = False,
        create_pr: bool = False,
    ) -> tuple[str, str]:
        from huggingface_hub import CommitOperationAdd

        with hub_errors(repo_id, self.describe()):
            self.api.create_repo(repo_id, private=private, exist_ok=True)
            if revision != "main":
                self.api.create_branch(repo_id, branch=revision, exist_ok=True)
            info = self.api.create_commit(
                repo_id,
                operations=[CommitOperationAdd(path, str(file)) for path, file in sorted(files.items())],
                commit_message=message,
                revision=revision,
                create_pr=create_pr,
            )
        return info.oid, info.pr_url or info.commit_url

    def search(
        self, query: str | None, task: str | None, author: str | None, sort: str, limit: int
    ) -> list[dict[str, Any]]:
        """GET /api/models, page by page, each answer checked against SEARCH_ANSWER: asked once, never retried (a
        server error is one line), the Hub's token sent only to the Hub's own origin."""
        from huggingface_hub import constants
        from huggingface_hub.utils import build_hf_headers, get_session, hf_raise_for_status

        where = self.describe()
        params: dict[str, Any] | None = {
            key: value
            for key, value in (
                ("filter", "zoo"), ("search", query or None), ("author", author), ("pipeline_tag", task),
                ("sort", sort), ("limit", limit), ("full", "true"), ("cardData", "true"),
            )
            if value is not None
        }  # fmt: skip
        url: str | None = f"{where.rstrip('/')}/api/models"
        headers = build_hf_headers(**library())
        found: list[dict[str, Any]] = []
        with hub_errors("model search", where):
            for _ in range(SEARCH_PAGES):
                response = get_session().get(url, params=params, headers=headers, timeout=constants.HF_HUB_ETAG_TIMEOUT)
                hf_raise_for_status(response)
                page = _search_answer(response, where)
                found += page
                url, params = _next_page(response, where), None
                if url is None or not page or len(found) >= limit:
                    break
        return found[:limit]


def library() -> dict[str, str]:
    """How zoo names itself in the user-agent of every Hub request, as timm and transformers do."""
    return {"library_name": "zoo", "library_version": __version__}


def hf_cache_folder(repo_id: str, repo_type: str = "model") -> Path:
    """A repo's folder in the Hugging Face cache (HF_HUB_CACHE)."""
    from huggingface_hub import constants
    from huggingface_hub.file_download import repo_folder_name

    return Path(constants.HF_HUB_CACHE) / repo_folder_name(repo_id=repo_id, repo_type=repo_type)


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


def _listing(api: Any, repo_id: str, commit: str, repo_type: str = "model") -> dict[str, tuple[str, int]]:
    """Each file of a commit with the Hub's reference digest and size. A commit's listing never changes, so it is
    kept in zoo's cache after the first pull: a second pull of that commit asks the Hub only what `main` is."""
    from huggingface_hub.hf_api import RepoFile

    kind = "" if repo_type == "model" else f"{repo_type}s/"
    path = cache_dir() / "listings" / f"{kind}{repo_id}" / f"{commit}.json"
    cached = read_cache(path, "the repository will be listed again")
    if cached and all(_listed_entry(v) for v in cached.values()):
        return {p: (ref, size) for p, (ref, size) in cached.items()}
    listing = {
        f.path: (f"sha256:{f.lfs.sha256}" if f.lfs else f"git-sha1:{f.blob_id}", f.lfs.size if f.lfs else f.size)
        for f in api.list_repo_tree(repo_id, revision=commit, recursive=True, repo_type=repo_type)
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


def _search_answer(response: Any, where: str) -> list[dict[str, Any]]:
    """One page of model search, as JSON checked against SEARCH_ANSWER (a ZooError naming the field, else)."""
    what = f"the model search answer of {where}"
    hint = f"Check that {where} is a Hub (--hub, ZOO_HUB or HF_ENDPOINT)."
    try:
        document = json.loads(response.content)
    except (ValueError, RecursionError):
        kind = printable(response.headers.get("Content-Type") or "no Content-Type", keep_newlines=False)[:60]
        raise ZooError(f"{what} is not JSON ({kind}). {hint}") from None
    try:
        return validate(document, SEARCH_ANSWER, what, hint)
    except DocumentError as exc:  # the server is at fault, not the user's input: a runtime error
        raise ZooError(str(exc)) from None


def _next_page(response: Any, where: str) -> str | None:
    """The next page's URL from the Link header; a link that leaves the Hub's origin is refused, since every
    request carries the Hub's token."""
    link = response.links.get("next", {}).get("url")
    if link is None:
        return None
    try:
        url = urljoin(str(response.url), link)
        same = _origin(url) == _origin(where)
    except ValueError:  # not a URL: a bad port or IPv6 address
        url, same = link, False
    if not same:
        raise ZooError(
            f"{where} linked the next page of model search to another origin, "
            f"{printable(url, keep_newlines=False)[:120]}: not followed, so the Hub token stays with {where}. "
            "Check --hub, ZOO_HUB or HF_ENDPOINT."
        )
    return None if url == str(response.url) else url  # a page that links to itself ends the search


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme.lower())
    return parts.scheme.lower(), (parts.hostname or "").lower(), port


def _drop_incomplete(repo_id: str, reference: str, repo_type: str = "model") -> None:
    """Delete the partial download huggingface_hub keeps for a resume, when what it announced was wrong."""
    for partial in (hf_cache_folder(repo_id, repo_type) / "blobs").glob(f"{reference.partition(':')[2]}*.incomplete"):
        partial.unlink(missing_ok=True)
