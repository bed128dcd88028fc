"""A MovieLens download folder served on 127.0.0.1 for the tests: tiny zips in each release's real layout and
encoding, written here (no MovieLens file is committed), and an HTTP server with Range, HEAD and faults on
demand. Used by the engine's fetch tests, the Data page's AppTest and the browser test."""
import hashlib
import http.server
import io
import stat
import threading
import time
import zipfile

NAMES = ["ml-latest-small", "ml-1m", "ml-10m", "ml-20m", "ml-25m", "ml-32m"]


# ---------------------------------------------------------------------- zips in the real layouts
def release_files(name: str) -> dict[str, bytes]:
    """A tiny copy of each release's files: '::' latin-1 .dat for 1M/10M, UTF-8 CSV for the others."""
    if name in ("ml-1m", "ml-10m"):
        stars = ["5", "3", "4", "2", "4"] if name == "ml-1m" else ["4.5", "3", "0.5", "2", "5"]
        ratings = "".join(f"{u}::{m}::{r}::97830076{i}\n" for i, (u, m, r) in
                          enumerate(zip([1, 1, 2, 2, 3], [1193, 661, 1193, 914, 661], stars)))
        movies = "1193::One Flew Over the Cuckoo's Nest (1975)::Drama\n661::Café (1996)::Animation|Children's\n" \
                 '914::"My Fair Lady" (1964)::Musical|Romance\n'
        files = {"ratings.dat": ratings.encode("latin-1"), "movies.dat": movies.encode("latin-1")}
        if name == "ml-1m":
            files["users.dat"] = b"1::F::1::10::48067\n2::M::56::16::70072\n3::M::25::15::55117\n"
        else:
            files["tags.dat"] = b"1::1193::classic::1190000000\n"
        return {f"{'ml-10M100K' if name == 'ml-10m' else name}/{k}": v for k, v in files.items()}
    ratings = "userId,movieId,rating,timestamp\n1,1,4.0,964982703\n1,3,4.5,964981247\n2,1,2.5,1\n3,3,0.5,2\n"
    movies = ('movieId,title,genres\n1,Toy Story (1995),Adventure|Animation\n'
              '3,"Grumpier Old Men, The (1995)",(no genres listed)\n5,Amélie (2001),Comedy\n')
    return {f"{name}/ratings.csv": ratings.encode(), f"{name}/movies.csv": movies.encode(),
            f"{name}/links.csv": b"movieId,imdbId,tmdbId\n1,0114709,862\n", f"{name}/README.txt": b"Usage License\n"}


def make_zip(files: dict[str, bytes], links: dict[str, str] = ()) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        folders = sorted({name.split("/")[0] + "/" for name in files if "/" in name})
        for folder in folders:
            archive.writestr(folder, b"")
        for name, data in files.items():
            archive.writestr(name, data)
        for name, target in dict(links).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, target)
    return buffer.getvalue()


ZIPS = {name: make_zip(release_files(name)) for name in NAMES}


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


# ---------------------------------------------------------------------- the test server
class Server:
    """http.server in a thread: GET and HEAD with Range, and faults on demand (cut short, ignore Range)."""

    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.requests: list[tuple[str, str, str | None]] = []  # (method, path, Range header)
        self.cut_once: set[str] = set()  # paths whose next GET sends half the body, then closes
        self.ignore_range = False
        self.delay = 0.0  # seconds before each GET body: makes concurrent fetches overlap
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_HEAD(self):
                self.respond(body=False)

            def do_GET(self):
                self.respond(body=True)

            def respond(self, body: bool):
                server.requests.append((self.command, self.path, self.headers.get("Range")))
                data = server.files.get(self.path)
                if data is None:
                    self.send_error(404)
                    return
                start = 0
                wanted = self.headers.get("Range")
                if wanted and not server.ignore_range:
                    start = int(wanted.removeprefix("bytes=").split("-")[0])
                    if start >= len(data):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(data)}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(data) - start))
                self.end_headers()
                if not body:
                    return
                time.sleep(server.delay)
                payload = data[start:]
                if self.path in server.cut_once:
                    server.cut_once.discard(self.path)
                    payload = payload[: len(payload) // 2]
                self.wfile.write(payload)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/movielens"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def serve(self, name: str, data: bytes | None = None, md5_text: str | None = None):
        self.files[f"/movielens/{name}.zip"] = ZIPS[name] if data is None else data
        if md5_text is not None:
            self.files[f"/movielens/{name}.zip.md5"] = md5_text.encode()

    def gets(self, name: str) -> list[str | None]:
        """The Range header of each GET of `name`'s zip."""
        return [r for method, path, r in self.requests if method == "GET" and path == f"/movielens/{name}.zip"]


