"""A Hub-compatible test server: create_repo, preupload, commit (regular and LFS files), branches, model search,
and the reads a client makes, for model repos and dataset repos.

It stores bare git repositories in olah's layout (ROOT/models/<org>/<name>, ROOT/datasets/<org>/<name>) through
zoo's LocalHub, so olah can serve what it wrote. Models and datasets take one code path: a repo is named by its
key, the path the Hub's URLs give it ("org/name" for a model, "datasets/org/name" for a dataset), and the key
picks the LocalHub and blob cache (HubServer.store).

Hooks for hostile behaviour: `tamper` serves other bytes for a file, `extra_tree` adds entries (such as
'../escape') to a repository's listing, `listed_size`/`pointer_size` make the listing or the LFS pointer lie
about a file's size, `private` repos need the token to read, `search_reply` answers model search with anything
at all. `page_size` splits model search into pages linked by a Link header, as the Hub does.

What it copies from the Hub's LFS handling (checked against huggingface_hub 2.4.0 and a recording of the Hub):
- which files are LFS: the Hub's default .gitattributes suffixes, files of 10 MiB or more, and binary files (a
  NUL byte in the first 512 bytes, the sample preupload sends);
- the tree lists an LFS file with `oid` = the git id of its pointer file, `size` = the real size, and
  `lfs: {oid: <sha256>, size, pointerSize}`; no `xetHash`, so clients never try Xet;
- resolve of an LFS file answers 302 with X-Repo-Commit, X-Linked-Etag (the sha256, quoted), X-Linked-Size and a
  Location on another origin (the storage), and no ETag (the Hub sends none beside X-Linked-Etag); the storage
  serves the bytes with Content-Length and honours Range (206, or 416 out of range); /raw/ serves the pointer;
- uploads: preupload answers "lfs" for those files, the LFS batch API (basic transfer) hands out an upload
  href on the storage and a verify href, the storage checks the sha256 of what it is sent, and the commit's
  NDJSON names the object in an `lfsFile` line.
What it leaves out: Xet chunk storage (clients upload with HF_HUB_DISABLE_XET=1 and take the LFS batch API, as
huggingface_hub does without hf_xet), multipart LFS uploads, and pull requests. Git holds the files' bytes, not
their pointers, so that olah, which serves plain git, can serve the same repositories.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
import tempfile
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlencode, urlparse

from zoo.core.errors import UsageError
from zoo.hub.local_git import LocalHub, RepoNotFound, RevisionNotFound, TreeEntry

REPO = r"(?P<repo>[^/]+/[^/]+)"
# /api/models/... or /api/datasets/...: which kind of repo an API route is about
KIND = r"(?P<kind>models|datasets)"
# A repo as the download and git URLs name it: /org/name (a model) or /datasets/org/name
KEY = r"(?P<key>(?:datasets/)?[^/]+/[^/]+)"
DATASETS = "datasets/"
# The suffixes of the .gitattributes every new Hub repository starts with (the ones a model repo meets).
LFS_SUFFIXES = (
    ".7z", ".arrow", ".bin", ".bz2", ".ckpt", ".ftz", ".gz", ".h5", ".joblib", ".mlmodel", ".model", ".msgpack",
    ".npy", ".npz", ".onnx", ".ot", ".parquet", ".pb", ".pickle", ".pkl", ".pt", ".pth", ".rar", ".safetensors",
    ".tar", ".tflite", ".tgz", ".wasm", ".xz", ".zip", ".zst",
)  # fmt: skip
LFS_MIN_SIZE = 10 * 1024 * 1024
CHUNK = 1024 * 1024


def is_lfs(path: str, size: int, sample: bytes) -> bool:
    """Whether the Hub stores a file through LFS."""
    return path.endswith(LFS_SUFFIXES) or size >= LFS_MIN_SIZE or b"\0" in sample[:512]


def lfs_pointer(sha256: str, size: int) -> bytes:
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n".encode()


def last_modified(hub: LocalHub, repo_id: str, commit: str) -> int:
    """A commit's timestamp (seconds since the epoch), as the Hub reports a repo's lastModified."""
    return int(hub._git(repo_id, "show", "-s", "--format=%ct", commit).stdout.decode().strip())


def git_blob_id(content: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


def repo_key(kind: str | None, repo: str) -> str:
    """The key of a repo named in an /api/{kind}/ route: "org/name" for a model, "datasets/org/name" for a dataset."""
    return DATASETS + repo if kind == "datasets" else repo


class HubServer:
    """Start with `with HubServer(root) as server:`; `server.url` is the endpoint for HF_ENDPOINT.

    `hub` holds the model repos, `datasets` the dataset repos. Every per-repo hook (`private`, `tamper`,
    `extra_tree`, `listed_size`, `pointer_size`, `downloads`, `likes`) is keyed by the repo's key: "org/name" for a
    model, "datasets/org/name" for a dataset (its URL path on the Hub), so a model and a dataset of one id never
    clash, e.g. `server.tamper[("datasets/org/name", "plain_text/train-00000-of-00001.parquet")] = b"..."`.
    """

    def __init__(self, root: Path, token: str = "hf_test_write_token") -> None:
        self.hub = LocalHub(root)
        self.datasets = LocalHub(root, "datasets")
        self.token = token
        self.private: set[str] = set()
        self.tamper: dict[tuple[str, str], bytes] = {}
        self.extra_tree: dict[str, list[dict]] = {}
        #: (repo, path) -> the size the tree lists for that file, whatever its real size
        self.listed_size: dict[tuple[str, str], int] = {}
        #: (repo, path) -> the size an LFS file's pointer (X-Linked-Size) says, whatever its real size
        self.pointer_size: dict[tuple[str, str], int] = {}
        #: repo -> downloads and likes, as model search reports them
        self.downloads: dict[str, int] = {}
        self.likes: dict[str, int] = {}
        #: what GET /api/models answers instead of the search: (status, body, headers)
        self.search_reply: tuple[int, bytes, dict[str, str]] | None = None
        #: at most this many models per page of GET /api/models, the next page named by a Link header
        self.page_size: int | None = None
        self.requests: list[str] = []
        #: (request, Authorization header) of every request the storage origin got
        self.storage_requests: list[tuple[str, str | None]] = []
        #: (request, User-Agent header) of every request, as the real Hub sees who calls it
        self.user_agents: list[tuple[str, str]] = []
        self.work = Path(tempfile.mkdtemp(prefix="hubserver-"))
        self.blobs = _Blobs(self.hub, self.work / "blobs")
        self.dataset_blobs = _Blobs(self.datasets, self.work / "dataset-blobs")
        self.uploads = self.work / "lfs-uploads"
        self.uploads.mkdir()
        handler = type("Handler", (_Handler,), {"server_state": self})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        storage = type("Storage", (_Storage,), {"server_state": self})
        self.storage_httpd = ThreadingHTTPServer(("127.0.0.1", 0), storage)
        #: another origin, like the Hub's CDN: clients must not send the Hub's token there
        self.storage_url = f"http://127.0.0.1:{self.storage_httpd.server_address[1]}"
        self.threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in (self.httpd, self.storage_httpd)]

    def __enter__(self) -> HubServer:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        for server in (self.httpd, self.storage_httpd):
            server.shutdown()
            server.server_close()
        shutil.rmtree(self.work, ignore_errors=True)

    def store(self, key: str) -> tuple[LocalHub, _Blobs, str]:
        """The LocalHub and blob cache that hold a repo, and its repo id, from its key."""
        if key.startswith(DATASETS):
            return self.datasets, self.dataset_blobs, key.removeprefix(DATASETS)
        return self.hub, self.blobs, key

    def listing(self, key: str, commit: str) -> list[dict]:
        """The tree as the Hub lists it: LFS files with their pointer's git id and an `lfs` field."""
        hub, blobs, repo = self.store(key)
        out = []
        for entry in hub.tree(repo, commit):
            sha256, size, head = blobs.digest(repo, entry)
            size = self.listed_size.get((key, entry.path), size)
            item = {"type": "file", "oid": entry.oid, "size": size, "path": entry.path}
            if is_lfs(entry.path, size, head):
                pointer = lfs_pointer(sha256, size)
                item.update(oid=git_blob_id(pointer), lfs={"oid": sha256, "size": size, "pointerSize": len(pointer)})
            out.append(item)
        return out

    def folders(self, key: str, commit: str) -> dict[str, str]:
        """Each folder of a commit and its git tree id, as the Hub lists a "directory"."""
        hub, _, repo = self.store(key)
        out = hub._git(repo, "ls-tree", "-r", "-d", "-z", commit).stdout.decode()
        return {path: meta.split()[2] for meta, path in (r.split("\t", 1) for r in filter(None, out.split("\0")))}


class _Blobs:
    """Each git blob once on disk, with its sha256, size and first 512 bytes (blobs never change)."""

    def __init__(self, hub: LocalHub, folder: Path) -> None:
        self.hub, self.folder = hub, folder
        folder.mkdir(parents=True)
        self.lock = threading.Lock()
        self.digests: dict[str, tuple[str, int, bytes]] = {}

    def path(self, repo: str, oid: str) -> Path:
        path = self.folder / oid
        with self.lock:
            if not path.is_file():
                tmp = path.with_suffix(".tmp")
                self.hub.read_blob(repo, oid, tmp)
                tmp.rename(path)
        return path

    def digest(self, repo: str, entry: TreeEntry) -> tuple[str, int, bytes]:
        if entry.oid not in self.digests:
            sha256 = hashlib.sha256()
            with open(self.path(repo, entry.oid), "rb") as fh:
                head = fh.read(512)
                sha256.update(head)
                while chunk := fh.read(CHUNK):
                    sha256.update(chunk)
            self.digests[entry.oid] = (sha256.hexdigest(), entry.size, head)
        return self.digests[entry.oid]


class _Plumbing(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_state: HubServer

    def log_message(self, format: str, *args: object) -> None:  # keep test output clean
        pass

    def _record(self) -> None:
        request = f"{self.command} {urlparse(self.path).path}"
        self.server_state.requests.append(request)
        self.server_state.user_agents.append((request, self.headers.get("User-Agent", "")))

    def _body(self) -> bytes:
        """The whole request body, plain or chunked (always read it all, or keep-alive connections break)."""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                parts.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):  # trailers
                pass
            return b"".join(parts)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(
        self,
        status: int,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, data: object, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(data).encode(), headers)

    def _error(self, status: int, code: str | None, message: str) -> None:
        headers = {"X-Error-Message": message}
        if code:
            headers["X-Error-Code"] = code
        self._json(status, {"error": message}, headers)

    def _send_file(self, path: Path, headers: dict[str, str], override: bytes | None = None) -> None:
        """A file's bytes (or `override`), honouring `Range: bytes=N-[M]` as the Hub and its storage do."""
        total = len(override) if override is not None else path.stat().st_size
        start, end, status = 0, total - 1, 200
        if m := re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range", "")):
            start, end = int(m[1]), min(int(m[2]) if m[2] else total - 1, total - 1)
            if start >= total:
                return self._send(416, b"", {"Content-Range": f"bytes */{total}"})
            headers = {**headers, "Content-Range": f"bytes {start}-{end}/{total}"}
            status = 206
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(end - start + 1))
        self.send_header("Accept-Ranges", "bytes")
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        if self.command == "HEAD":
            return None
        if override is not None:
            self.wfile.write(override[start : end + 1])
            return None
        with open(path, "rb") as fh:
            fh.seek(start)
            left = end - start + 1
            while left > 0 and (chunk := fh.read(min(CHUNK, left))):
                self.wfile.write(chunk)
                left -= len(chunk)
        return None


class _Storage(_Plumbing):
    """The LFS storage on its own origin: GET/HEAD of an object, PUT of an upload (checked against its sha256)."""

    def _record(self) -> None:
        request = f"{self.command} {urlparse(self.path).path}"
        self.server_state.storage_requests.append((request, self.headers.get("Authorization")))

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        self._record()
        url = urlparse(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if not re.fullmatch(r"/objects/[0-9a-f]{64}", url.path) or "repo" not in query:
            return self._error(404, None, "no such object")
        state = self.server_state
        key, blob = query["repo"], query["blob"]
        _, blobs, repo = state.store(key)
        return self._send_file(blobs.path(repo, blob), {}, state.tamper.get((key, query.get("path", ""))))

    def do_PUT(self) -> None:
        body = self._body()
        self._record()
        if not (m := re.fullmatch(r"/upload/(?P<sha>[0-9a-f]{64})", urlparse(self.path).path)):
            return self._error(404, None, "no such upload")
        if hashlib.sha256(body).hexdigest() != m["sha"]:
            return self._error(400, None, "the uploaded bytes do not match the object's sha256")
        target = self.server_state.uploads / m["sha"]
        tmp = target.with_suffix(".tmp")
        tmp.write_bytes(body)
        tmp.rename(target)
        return self._send(200)


class _Handler(_Plumbing):
    def _authorized(self) -> bool:
        return self.headers.get("Authorization") == f"Bearer {self.server_state.token}"

    def _require_auth(self) -> bool:
        if self._authorized():
            return True
        self._error(401, None, "Invalid credentials in Authorization header")
        return False

    def _commit_for(self, key: str, revision: str) -> str | None:
        """The commit for a revision, or None after sending the Hub's error for a private repo without a token,
        or a missing repo or revision."""
        if key in self.server_state.private and not self._authorized():
            self._error(401, "RepoNotFound", "Repository not found")
            return None
        hub, _, repo = self.server_state.store(key)
        try:
            commit = hub.resolve(repo, revision)
        except RepoNotFound:
            self._error(404, "RepoNotFound", "Repository not found")
            return None
        except (RevisionNotFound, UsageError):
            self._error(404, "RevisionNotFound", "Invalid rev id")
            return None
        if commit is None:
            self._error(404, "RevisionNotFound", "Empty repository")
        return commit

    # Routes ---------------------------------------------------------------------------------------------

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        self._record()
        url = urlparse(self.path)
        path = url.path
        if path == "/api/models" and self.server_state.search_reply is not None:
            status, body, headers = self.server_state.search_reply
            kind = headers.get("Content-Type", "application/json")
            return self._send(status, body, {k: v for k, v in headers.items() if k != "Content-Type"}, kind)
        if path == "/api/models":
            return self._list_models({k: v[-1] for k, v in parse_qs(url.query).items()})
        query = parse_qs(url.query)
        if m := re.fullmatch(rf"/api/{KIND}/{REPO}(?:/revision/(?P<rev>.+))?", path):
            return self._repo_info(repo_key(m["kind"], m["repo"]), unquote(m["rev"] or "main"), query)
        if m := re.fullmatch(rf"/api/{KIND}/{REPO}/tree/(?P<rev>[^/]+)(?:/(?P<sub>.*))?", path):
            recursive = query.get("recursive", ["false"])[-1].lower() in ("1", "true")
            key = repo_key(m["kind"], m["repo"])
            return self._tree(key, unquote(m["rev"]), unquote(m["sub"] or "").strip("/"), recursive)
        if m := re.fullmatch(rf"/{KEY}/(?P<how>resolve|raw)/(?P<rev>[^/]+)/(?P<file>.+)", path):
            return self._resolve(m["key"], unquote(m["rev"]), unquote(m["file"]), raw=m["how"] == "raw")
        return self._error(404, None, f"no route for {path}")

    def do_POST(self) -> None:
        body = self._body()
        self._record()
        path = urlparse(self.path).path
        if path == "/api/validate-yaml":
            return self._json(200, {"errors": [], "warnings": []})
        if m := re.fullmatch(rf"/api/{KIND}/{REPO}/paths-info/(?P<rev>[^/]+)", path):  # a read: no token needed
            return self._paths_info(repo_key(m["kind"], m["repo"]), unquote(m["rev"]), parse_qs(body.decode()))
        if not self._require_auth():
            return None
        if path == "/api/repos/create":
            return self._create_repo(json.loads(body or b"{}"))
        if m := re.fullmatch(rf"/api/{KIND}/{REPO}/preupload/(?P<rev>.+)", path):
            return self._preupload(repo_key(m["kind"], m["repo"]), unquote(m["rev"]), json.loads(body))
        if m := re.fullmatch(rf"/{KEY}\.git/info/lfs/objects/batch", path):
            return self._lfs_batch(m["key"], json.loads(body))
        if m := re.fullmatch(rf"/{KEY}\.git/info/lfs/objects/verify", path):
            return self._lfs_verify(json.loads(body))
        if m := re.fullmatch(rf"/api/{KIND}/{REPO}/commit/(?P<rev>.+)", path):
            return self._commit(repo_key(m["kind"], m["repo"]), unquote(m["rev"]), body)
        if m := re.fullmatch(rf"/api/{KIND}/{REPO}/branch/(?P<branch>.+)", path):
            return self._branch(repo_key(m["kind"], m["repo"]), unquote(m["branch"]), json.loads(body or b"{}"))
        return self._error(404, None, f"no route for {path}")

    def _repo_info(self, key: str, revision: str, query: dict[str, list[str]]) -> None:
        """model_info / dataset_info: `blobs` adds each file's size and LFS info, `expand` keeps only those fields."""
        commit = self._commit_for(key, revision)
        if commit is None:
            return
        dataset = key.startswith(DATASETS)
        item = self._describe(key, commit, full=True, card=dataset or "expand" in query, blobs="blobs" in query)
        if "expand" in query:
            item = {k: v for k, v in item.items() if k == "id" or k in query["expand"]}
        self._json(200, item)

    def _describe(self, key: str, commit: str, full: bool, card: bool = False, blobs: bool = False) -> dict:
        """A repo as model_info, dataset_info and list_models describe it, with what its README's metadata says."""
        state = self.server_state
        hub, _, repo = state.store(key)
        meta = _card_metadata(state, key, commit)
        stamp = datetime.fromtimestamp(last_modified(hub, repo, commit), tz=UTC)
        item = {"id": repo}
        if not key.startswith(DATASETS):
            item.update(modelId=repo, library_name=meta.get("library_name"), pipeline_tag=meta.get("pipeline_tag"))
        item.update(
            private=key in state.private,
            tags=list(meta.get("tags") or []),
            downloads=state.downloads.get(key, 0),
            likes=state.likes.get(key, 0),
        )
        if full:
            item.update(
                sha=commit,
                siblings=[_sibling(e) for e in state.listing(key, commit)]
                if blobs
                else [{"rfilename": e.path} for e in hub.tree(repo, commit)],
                lastModified=stamp.strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z",
            )
        if card:
            item["cardData"] = meta
        return item

    def _list_models(self, query: dict[str, str]) -> None:
        """GET /api/models: filter (a tag), search (in the id), author, pipeline_tag, sort, direction, limit, full,
        cardData."""
        state = self.server_state
        items = []
        for org_dir in sorted((state.hub.root / "models").glob("*")):
            for repo_dir in sorted(org_dir.glob("*")):
                repo = f"{org_dir.name}/{repo_dir.name}"
                if repo in state.private or not state.hub.exists(repo):
                    continue
                commit = state.hub.resolve(repo, "main")
                if commit is None:
                    continue
                item = self._describe(repo, commit, full=True, card="cardData" in query)
                if "filter" in query and query["filter"] not in item["tags"] + [item["library_name"]]:
                    continue
                if "search" in query and query["search"].lower() not in repo.lower():
                    continue
                if "author" in query and org_dir.name != query["author"]:
                    continue
                if "pipeline_tag" in query and item["pipeline_tag"] != query["pipeline_tag"]:
                    continue
                if "full" not in query:
                    item = {k: v for k, v in item.items() if k not in ("siblings", "lastModified", "sha")}
                items.append(item)
        sort = query.get("sort")
        if sort in ("downloads", "likes", "lastModified"):
            items.sort(key=lambda i: (i.get(sort) or "", i["id"]) if sort == "lastModified" else (i[sort], i["id"]))
            if query.get("direction", "-1") == "-1":
                items.reverse()
        self._json(200, *self._page(items, query))

    def _page(self, items: list[dict], query: dict[str, str]) -> tuple[list[dict], dict[str, str]]:
        """One page of a search and the Link header naming the next one. As on the Hub, `limit` is the size of a
        page and the pages go on (without `page_size`, the first page is all there is)."""
        size = min(int(query.get("limit", 10**9)), self.server_state.page_size or 10**9)
        if self.server_state.page_size is None:
            return items[:size], {}
        start = int(query.get("cursor", 0))
        if start + size >= len(items):
            return items[start:], {}
        following = urlencode({**query, "cursor": start + size})
        return items[start : start + size], {"Link": f'<{self.server_state.url}/api/models?{following}>; rel="next"'}

    def _tree(self, key: str, revision: str, sub: str, recursive: bool) -> None:
        """The files under `sub` (all of them when recursive, else its files and folders), as the Hub lists them.
        A recursive listing of the whole repo holds only files, as it always has here (snapshot_download's call)."""
        commit = self._commit_for(key, revision)
        if commit is None:
            return None
        state = self.server_state
        if not sub and recursive:
            return self._json(200, state.listing(key, commit) + state.extra_tree.get(key, []))
        entries = _under(state.listing(key, commit), state.folders(key, commit), sub, recursive)
        if sub and not entries and sub not in state.folders(key, commit):
            return self._error(404, "EntryNotFound", f"{sub} does not exist at {revision}")
        return self._json(200, entries)

    def _paths_info(self, key: str, revision: str, form: dict[str, list[str]]) -> None:
        """POST paths-info: the listing's entry of each path asked for that exists (a file or a folder)."""
        commit = self._commit_for(key, revision)
        if commit is None:
            return None
        state = self.server_state
        files = {e["path"]: e for e in state.listing(key, commit)}
        folders = state.folders(key, commit)
        wanted = [p.strip("/") for p in form.get("paths", [])]
        found = [files[p] if p in files else _folder(p, folders[p]) for p in wanted if p in files or p in folders]
        return self._json(200, found)

    def _resolve(self, key: str, revision: str, file: str, raw: bool) -> None:
        commit = self._commit_for(key, revision)
        if commit is None:
            return None
        state = self.server_state
        hub, blobs, repo = state.store(key)
        entry = next((e for e in hub.tree(repo, commit) if e.path == file), None)
        if entry is None:
            return self._error(404, "EntryNotFound", f"{file} does not exist at {revision}")
        sha256, size, head = blobs.digest(repo, entry)
        if is_lfs(file, size, head):
            linked = state.pointer_size.get((key, file), size)
            if raw:
                return self._send(200, lfs_pointer(sha256, linked), {"X-Repo-Commit": commit}, "text/plain")
            location = f"{state.storage_url}/objects/{sha256}?repo={quote(key)}&blob={entry.oid}&path={quote(file)}"
            headers = {
                "X-Repo-Commit": commit,
                "X-Linked-Etag": f'"{sha256}"',
                "X-Linked-Size": str(linked),
                "Location": location,
            }
            return self._send(302, b"", headers)
        headers = {"X-Repo-Commit": commit, "ETag": f'"{entry.oid}"'}
        return self._send_file(blobs.path(repo, entry.oid), headers, state.tamper.get((key, file)))

    def _create_repo(self, data: dict) -> None:
        repo = f"{data.get('organization') or 'user'}/{data['name']}"
        key = repo_key("datasets" if data.get("type") == "dataset" else "models", repo)
        url = {"url": f"{self.server_state.url}/{key}"}
        hub, _, _ = self.server_state.store(key)
        if hub.exists(repo):
            return self._json(409, {**url, "error": f"You already created this {data.get('type') or 'model'} repo"})
        hub.create_repo(repo)
        if data.get("private") or data.get("visibility") == "private":
            self.server_state.private.add(key)
        return self._json(200, url)

    def _preupload(self, key: str, revision: str, data: dict) -> None:
        hub, _, repo = self.server_state.store(key)
        try:
            commit = hub.resolve(repo, revision)
        except (RepoNotFound, RevisionNotFound):
            commit = None
        current = {e.path: e.oid for e in hub.tree(repo, commit)} if commit else {}
        files = []
        for f in data["files"]:
            lfs = is_lfs(f["path"], int(f["size"]), base64.b64decode(f.get("sample") or ""))
            mode = "lfs" if lfs else "regular"
            files.append({"path": f["path"], "uploadMode": mode, "shouldIgnore": False, "oid": current.get(f["path"])})
        self._json(200, {"files": files})

    def _lfs_batch(self, key: str, data: dict) -> None:
        """The git-LFS batch API, basic transfer: an upload href on the storage for each object it lacks."""
        state = self.server_state
        if data.get("operation") != "upload" or "basic" not in data.get("transfers", ["basic"]):
            return self._error(400, None, "only basic uploads are offered")
        objects = []
        for obj in data["objects"]:
            oid, size = obj["oid"], int(obj["size"])
            item: dict = {"oid": oid, "size": size, "authenticated": True}
            if not (state.uploads / oid).is_file():
                item["actions"] = {
                    "upload": {"href": f"{state.storage_url}/upload/{oid}", "header": {}},
                    "verify": {"href": f"{state.url}/{key}.git/info/lfs/objects/verify", "header": {}},
                }
            objects.append(item)
        return self._json(200, {"transfer": "basic", "objects": objects})

    def _lfs_verify(self, data: dict) -> None:
        stored = self.server_state.uploads / str(data.get("oid"))
        if not stored.is_file() or stored.stat().st_size != data.get("size"):
            return self._error(404, None, f"object {data.get('oid')} was not uploaded")
        return self._json(200, {})

    def _commit(self, key: str, revision: str, body: bytes) -> None:
        files: dict[str, bytes | Path] = {}
        deletions: list[str] = []
        header: dict = {}
        for line in body.decode().splitlines():
            item = json.loads(line)
            value = item["value"]
            if item["key"] == "header":
                header = value
            elif item["key"] == "file":
                files[value["path"]] = base64.b64decode(value["content"])
            elif item["key"] == "lfsFile":
                stored = self.server_state.uploads / value["oid"]
                if value.get("algo") != "sha256" or not stored.is_file() or stored.stat().st_size != value["size"]:
                    return self._error(422, None, f"LFS object {value['oid']} for {value['path']} was never uploaded")
                files[value["path"]] = stored
            elif item["key"] == "deletedFile":
                deletions.append(value["path"])
        message = header.get("summary", "") + ("\n\n" + header["description"] if header.get("description") else "")
        hub, _, repo = self.server_state.store(key)
        try:
            commit = hub.commit(
                repo, files, message, branch=revision, deletions=tuple(deletions), parent=header.get("parentCommit")
            )
        except RepoNotFound:
            return self._error(404, "RepoNotFound", "Repository not found")
        except RevisionNotFound:
            return self._error(404, "RevisionNotFound", f"no branch {revision}")
        return self._json(
            200,
            {
                "commitOid": commit,
                "commitUrl": f"{self.server_state.url}/{key}/commit/{commit}",
                "pullRequestUrl": None,
            },
        )

    def _branch(self, key: str, branch: str, data: dict) -> None:
        hub, _, repo = self.server_state.store(key)
        try:
            hub.create_branch(repo, branch, data.get("startingPoint") or "main")
        except (RepoNotFound, RevisionNotFound) as exc:
            return self._error(404, "RevisionNotFound", str(exc))
        return self._json(200, {})


def _sibling(entry: dict) -> dict:
    """A listing entry as model_info/dataset_info(files_metadata=True) lists a sibling."""
    sibling = {"rfilename": entry["path"], "size": entry["size"], "blobId": entry["oid"]}
    if lfs := entry.get("lfs"):
        sibling["lfs"] = {"size": lfs["size"], "sha256": lfs["oid"], "pointerSize": lfs["pointerSize"]}
    return sibling


def _folder(path: str, oid: str) -> dict:
    return {"type": "directory", "oid": oid, "path": path}


def _under(files: list[dict], folders: dict[str, str], sub: str, recursive: bool) -> list[dict]:
    """The listing of the folder `sub` ("" for the root): every file and folder below it when recursive, else only
    those right inside it."""
    prefix = f"{sub}/" if sub else ""

    def inside(path: str) -> bool:
        return path.startswith(prefix) and (recursive or "/" not in path[len(prefix) :])

    listed = [_folder(p, oid) for p, oid in sorted(folders.items()) if inside(p)]
    return listed + [f for f in files if inside(f["path"])]


def _card_metadata(state: HubServer, key: str, commit: str) -> dict:
    """The YAML metadata block of the repo's README.md, as the Hub indexes it ({} without one)."""
    import yaml

    hub, blobs, repo = state.store(key)
    entry = next((e for e in hub.tree(repo, commit) if e.path == "README.md"), None)
    if entry is None:
        return {}
    text = blobs.path(repo, entry.oid).read_text("utf-8", errors="replace")
    if not (m := re.match(r"---\n(.*?)\n---\n", text, re.DOTALL)):
        return {}
    try:
        data = yaml.safe_load(m[1])
    except yaml.YAMLError:
        return {}
    return data if isinstance(data, dict) else {}
