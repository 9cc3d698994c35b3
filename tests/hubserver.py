"""A Hub-compatible test server: create_repo, preupload, commit and branches, and the reads a client makes.

It stores bare git repositories in olah's layout (ROOT/models/<org>/<name>) through zoo's LocalHub, so olah
can serve what it wrote. Hooks for hostile behaviour: `tamper` serves other bytes for a file, `extra_tree`
adds entries (such as '../escape') to a repository's listing, `private` repos need the token to read.
"""

from __future__ import annotations

import base64
import json
import re
import tempfile
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlparse

from zoo.errors import UsageError
from zoo.localhub import LocalHub, RepoNotFound, RevisionNotFound

REPO = r"(?P<repo>[^/]+/[^/]+)"


class HubServer:
    """Start with `with HubServer(root) as server:`; `server.url` is the endpoint for HF_ENDPOINT."""

    def __init__(self, root: Path, token: str = "hf_test_write_token") -> None:
        self.hub = LocalHub(root)
        self.token = token
        self.private: set[str] = set()
        self.tamper: dict[tuple[str, str], bytes] = {}
        self.extra_tree: dict[str, list[dict]] = {}
        self.requests: list[str] = []
        #: (request, User-Agent header) of every request, as the real Hub sees who calls it
        self.user_agents: list[tuple[str, str]] = []
        handler = type("Handler", (_Handler,), {"server_state": self})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> HubServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_state: HubServer

    def log_message(self, format: str, *args: object) -> None:  # keep test output clean
        pass

    # Plumbing -------------------------------------------------------------------------------------------

    def _body(self) -> bytes:
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

    def _authorized(self) -> bool:
        return self.headers.get("Authorization") == f"Bearer {self.server_state.token}"

    def _require_auth(self) -> bool:
        if self._authorized():
            return True
        self._error(401, None, "Invalid credentials in Authorization header")
        return False

    def _commit_for(self, repo: str, revision: str) -> str | None:
        """The commit for a revision, or None after sending the Hub's error for a private repo without a token,
        or a missing repo or revision."""
        if repo in self.server_state.private and not self._authorized():
            self._error(401, "RepoNotFound", "Repository not found")
            return None
        try:
            commit = self.server_state.hub.resolve(repo, revision)
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
        url = urlparse(self.path)
        path = url.path
        self.server_state.requests.append(f"{self.command} {path}")
        self.server_state.user_agents.append((f"{self.command} {path}", self.headers.get("User-Agent", "")))
        if m := re.fullmatch(rf"/api/models/{REPO}(?:/revision/(?P<rev>.+))?", path):
            return self._model_info(m["repo"], unquote(m["rev"] or "main"))
        if m := re.fullmatch(rf"/api/models/{REPO}/tree/(?P<rev>[^/]+)(?:/(?P<sub>.*))?", path):
            return self._tree(m["repo"], unquote(m["rev"]))
        if m := re.fullmatch(rf"/{REPO}/resolve/(?P<rev>[^/]+)/(?P<file>.+)", path):
            return self._resolve(m["repo"], unquote(m["rev"]), unquote(m["file"]))
        self._error(404, None, f"no route for {path}")

    def do_POST(self) -> None:
        body = self._body()  # always read the whole body, or keep-alive connections break
        path = urlparse(self.path).path
        self.server_state.requests.append(f"POST {path}")
        self.server_state.user_agents.append((f"POST {path}", self.headers.get("User-Agent", "")))
        if path == "/api/validate-yaml":
            return self._json(200, {"errors": [], "warnings": []})
        if not self._require_auth():
            return None
        if path == "/api/repos/create":
            return self._create_repo(json.loads(body or b"{}"))
        if m := re.fullmatch(rf"/api/models/{REPO}/preupload/(?P<rev>.+)", path):
            return self._preupload(m["repo"], unquote(m["rev"]), json.loads(body))
        if m := re.fullmatch(rf"/api/models/{REPO}/commit/(?P<rev>.+)", path):
            return self._commit(m["repo"], unquote(m["rev"]), body)
        if m := re.fullmatch(rf"/api/models/{REPO}/branch/(?P<branch>.+)", path):
            return self._branch(m["repo"], unquote(m["branch"]), json.loads(body or b"{}"))
        self._error(404, None, f"no route for {path}")

    def _model_info(self, repo: str, revision: str) -> None:
        commit = self._commit_for(repo, revision)
        if commit is None:
            return
        hub = self.server_state.hub
        stamp = datetime.fromtimestamp(hub.last_modified(repo, commit), tz=UTC)
        self._json(
            200,
            {
                "id": repo,
                "modelId": repo,
                "sha": commit,
                "private": repo in self.server_state.private,
                "siblings": [{"rfilename": e.path} for e in hub.tree(repo, commit)],
                "lastModified": stamp.strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z",
                "tags": [],
                "downloads": 0,
                "likes": 0,
            },
        )

    def _tree(self, repo: str, revision: str) -> None:
        commit = self._commit_for(repo, revision)
        if commit is None:
            return
        entries = [
            {"type": "file", "oid": e.oid, "size": e.size, "path": e.path}
            for e in self.server_state.hub.tree(repo, commit)
        ]
        self._json(200, entries + self.server_state.extra_tree.get(repo, []))

    def _resolve(self, repo: str, revision: str, file: str) -> None:
        commit = self._commit_for(repo, revision)
        if commit is None:
            return
        hub = self.server_state.hub
        entry = next((e for e in hub.tree(repo, commit) if e.path == file), None)
        if entry is None:
            return self._error(404, "EntryNotFound", f"{file} does not exist at {revision}")
        with tempfile.NamedTemporaryFile() as tmp:
            hub.read_blob(repo, entry.oid, Path(tmp.name))
            content = Path(tmp.name).read_bytes()
        content = self.server_state.tamper.get((repo, file), content)
        headers = {"X-Repo-Commit": commit, "ETag": f'"{entry.oid}"', "Accept-Ranges": "bytes"}
        status = 200
        if m := re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range", "")):
            start, end = int(m[1]), int(m[2]) if m[2] else len(content) - 1
            headers["Content-Range"] = f"bytes {start}-{end}/{len(content)}"
            content, status = content[start : end + 1], 206
        self._send(status, content, headers, content_type="application/octet-stream")

    def _create_repo(self, data: dict) -> None:
        repo = f"{data.get('organization') or 'user'}/{data['name']}"
        url = {"url": f"{self.server_state.url}/{repo}"}
        hub = self.server_state.hub
        if hub.exists(repo):
            return self._json(409, {**url, "error": "You already created this model repo"})
        hub.create_repo(repo)
        if data.get("private") or data.get("visibility") == "private":
            self.server_state.private.add(repo)
        self._json(200, url)

    def _preupload(self, repo: str, revision: str, data: dict) -> None:
        hub = self.server_state.hub
        try:
            commit = hub.resolve(repo, revision)
        except (RepoNotFound, RevisionNotFound):
            commit = None
        current = {e.path: e.oid for e in hub.tree(repo, commit)} if commit else {}
        self._json(
            200,
            {
                "files": [
                    {"path": f["path"], "uploadMode": "regular", "shouldIgnore": False, "oid": current.get(f["path"])}
                    for f in data["files"]
                ]
            },
        )

    def _commit(self, repo: str, revision: str, body: bytes) -> None:
        files: dict[str, bytes] = {}
        deletions: list[str] = []
        header: dict = {}
        for line in body.decode().splitlines():
            item = json.loads(line)
            if item["key"] == "header":
                header = item["value"]
            elif item["key"] == "file":
                files[item["value"]["path"]] = base64.b64decode(item["value"]["content"])
            elif item["key"] == "deletedFile":
                deletions.append(item["value"]["path"])
        message = header.get("summary", "") + ("\n\n" + header["description"] if header.get("description") else "")
        try:
            commit = self.server_state.hub.commit(
                repo, files, message, branch=revision, deletions=tuple(deletions), parent=header.get("parentCommit")
            )
        except RepoNotFound:
            return self._error(404, "RepoNotFound", "Repository not found")
        except RevisionNotFound:
            return self._error(404, "RevisionNotFound", f"no branch {revision}")
        self._json(
            200,
            {
                "commitOid": commit,
                "commitUrl": f"{self.server_state.url}/{repo}/commit/{commit}",
                "pullRequestUrl": None,
            },
        )

    def _branch(self, repo: str, branch: str, data: dict) -> None:
        try:
            self.server_state.hub.create_branch(repo, branch, data.get("startingPoint") or "main")
        except (RepoNotFound, RevisionNotFound) as exc:
            return self._error(404, "RevisionNotFound", str(exc))
        self._json(200, {})
