#!/usr/bin/python3
"""crawl.py - the tutorial's web crawler (section 7.1): a breadth-first
crawl of a generated site served over HTTP on 127.0.0.1, sequentially, on
a ThreadPoolExecutor of W threads, or on a multiprocessing.Pool of W
processes.

The twin of benchmarks/crawl.c: same options, same site, same records.
    crawl.py --mode seq --pages 100 --delay-ms 20      about 100 x 20 ms
    crawl.py --mode threads --workers 10 --pages 100   about 10 times faster
    crawl.py --mode procs --workers 10 --pages 100     the same, in processes
    crawl.py --mode threads --dead 2 --slow 1 --missing 3 --timeout-ms 300

Standard library only.  The program starts its own server (http.server,
one thread per connection) on an ephemeral port, serving the very pages
benchmarks/cases/site.c makes: the same links from the same seed (SplitMix64),
the same awkward HTML, the same faults (--dead links to a port where
nothing listens, --slow to pages never answered, --missing to pages that
answer 404), and it waits --delay-ms before every response, as the C
server does.  scrape_page is the tutorial's: fetch with a timeout
(urllib.request in place of requests), find the title and every <a href>
(html.parser in place of BeautifulSoup), and turn any error into a
{'url', 'error'} record.  The crawl follows the http links on 127.0.0.1,
each URL once, submitting every new link as soon as its page is in, and
taking pages in the order they finish (concurrent.futures.wait, or the
Pool's callbacks), as crawler.c does.

The record: n = pages in the site, chunk = 1, tasks = URLs fetched,
variant "delayDms", expected = pages + faults, and result = the records
that match the site (each page once with its title and number of links,
each fault once with its error) minus every record that does not and every
page served twice, as in the C program: result == expected exactly when
the crawl found the whole site, nothing else, each URL once.

The process pool is made before the server starts, so its workers are
forked from a process with no server threads; they only fetch and parse.
"""

import collections
import http.server
import queue
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from html.parser import HTMLParser
from multiprocessing import Pool
from urllib.parse import urldefrag, urljoin, urlsplit

import common

MASK = (1 << 64) - 1
MAX_LINKS = 64          # as SITE_MAX_LINKS


def splitmix(x):
    """SplitMix64, as in site.c."""
    x = (x + 0x9e3779b97f4a7c15) & MASK
    x = ((x ^ (x >> 30)) * 0xbf58476d1ce4e5b9) & MASK
    x = ((x ^ (x >> 27)) * 0x94d049bb133111eb) & MASK
    return x ^ (x >> 31)


class Site:
    """The generated site of site.c: page i links to its children 2i + 1
    and 2i + 2, to `links` random pages, to three links out of scope, and
    to the faults placed on it."""

    def __init__(self, pages, links, dead, slow, missing, seed):
        self.pages, self.links = pages, links
        self.dead, self.slow, self.missing = dead, slow, missing
        self.nfaults = dead + slow + missing
        self.targets = [splitmix(seed ^ splitmix(k)) % pages
                        for k in range(pages * links)]

    def fault_kind(self, k):
        if k < self.dead:
            return "dead"
        return "slow" if k < self.dead + self.slow else "missing"

    def fault_number(self, k):
        kind = self.fault_kind(k)
        if kind == "dead":
            return k
        return k - self.dead - (self.slow if kind == "missing" else 0)

    def fault_page(self, k):
        return (k * 7 + 3) % self.pages

    def link_count(self, i):
        n = self.links + 3
        n += (2 * i + 1 < self.pages) + (2 * i + 2 < self.pages)
        return n + sum(1 for k in range(self.nfaults)
                       if self.fault_page(k) == i)

    def title(self, i):
        return f"Page {i} <of {self.pages}>"

    def render(self, i, port, dead_port):
        """Page i's HTML, byte for byte as site_render writes it."""
        out = [
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n'
            '<meta charset="utf-8">\n'
            f'<title>Page {i} &lt;of {self.pages}&gt;</title>\n'
            '<style>ul > li { margin: 0 }</style>\n'
            '<script>var s = "<a href=\'/page/script.html\'>";</script>\n'
            f'</head>\n<body>\n<h1 id=top>Page {i}</h1>\n'
            '<a name="top"></a>\n'
            '<!-- moved -> <a href="/page/commented.html">old</a> -->\n'
            '<ul>\n']
        for c in (1, 2):
            if 2 * i + c < self.pages:
                out.append(f'<li><a href="/page/{2 * i + c}.html">child'
                           '</a></li>\n')
        for j in range(self.links):
            t = self.targets[i * self.links + j]
            out.append((
                f'<li><a href="{t}.html">page {t}</a></li>\n',
                f"<li><A HREF='http://127.0.0.1:{port}/page/{t}.html#s{j}'>"
                f"page {t}</A></li>\n",
                f'<li><a class=x href=../page/{t}.html>page {t}</a></li>\n',
                f'<li><a\n    title="a > b" href = "/page/{t}.html">page '
                f'{t}</a></li>\n')[j % 4])
        out.append(f'<li><a href="https://example.org/p{i}">elsewhere'
                   '</a></li>\n'
                   '<li><a href="mailto:crawler@example.org">mail</a></li>\n'
                   '<li><a href="#top">top</a></li>\n')
        for k in range(self.nfaults):
            if self.fault_page(k) != i:
                continue
            num, kind = self.fault_number(k), self.fault_kind(k)
            if kind == "dead":
                out.append(f'<li><a href="http://127.0.0.1:{dead_port}/page/'
                           f'{num}.html">gone</a></li>\n')
            elif kind == "slow":
                out.append(f'<li><a href="/slow/{num}.html">slow</a></li>\n')
            else:
                out.append(f'<li><a href="http://127.0.0.1:{port}/page/'
                           f'{self.pages + num}.html">missing</a></li>\n')
        out.append('</ul>\n</body>\n</html>\n')
        return "".join(out).encode()


def numbered(path, prefix):
    """N of "/prefix/N.html" (no leading zeros), or None."""
    if not path.startswith(prefix) or not path.endswith(".html"):
        return None
    digits = path[len(prefix):-len(".html")]
    if not digits.isdigit() or not digits.isascii() or \
            (digits[0] == "0" and digits != "0"):
        return None
    return int(digits)


class Server:
    """The loopback server: a thread per connection, --delay-ms before
    every answer, the slow pages never answered (until stop())."""

    def __init__(self, site, delay_ms, dead_port):
        self.site, self.delay = site, delay_ms / 1000.0
        self.dead_port = dead_port
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.served = collections.Counter()     # page -> times served
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                page = numbered(self.path, "/page/")
                slow = numbered(self.path, "/slow/")
                if slow is not None and slow < site.slow:
                    server.stopping.wait()      # never answered
                    return
                time.sleep(server.delay)
                if page is None or page >= site.pages:
                    self.send_error(404)
                    return
                body = site.render(page, server.port, dead_port)
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                with server.lock:
                    server.served[page] += 1

        http.server.ThreadingHTTPServer.request_queue_size = 128
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                     Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       kwargs={"poll_interval": 0.05})
        self.thread.start()

    def stop(self):
        """Stops serving; returns how many pages were served more than
        once (a crawler that fetched a page twice)."""
        self.stopping.set()
        self.httpd.shutdown()
        self.thread.join()
        self.httpd.server_close()
        return sum(n - 1 for n in self.served.values())


class LinkParser(HTMLParser):
    """The first <title>'s text and every <a href>, as BeautifulSoup's
    soup.title.string and soup.find_all('a', href=True)."""

    def __init__(self):
        super().__init__()
        self.title, self.links, self.in_title = None, [], False

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            href = dict(attrs).get("href")
            if href is not None:
                self.links.append(href)
        elif tag == "title" and self.title is None:
            self.in_title, self.title = True, ""

    def handle_endtag(self, tag):
        if tag == "title":
            self.in_title = False

    def handle_data(self, data):
        if self.in_title:
            self.title += data


# No proxy for 127.0.0.1, whatever the environment says.
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def scrape_page(url, timeout_s):
    """The tutorial's scrape_page: a dict with the title and the links, or
    with the error.  kind is for the check: ok, refused, timeout, http."""
    try:
        with OPENER.open(url, timeout=timeout_s) as response:
            html = response.read().decode("utf-8", "replace")
        parser = LinkParser()
        parser.feed(html)
        parser.close()
        links = [urldefrag(urljoin(url, h))[0] for h in parser.links]
        return {"url": url, "title": parser.title, "links": links,
                "kind": "ok"}
    except urllib.error.HTTPError as e:
        return {"url": url, "error": f"HTTP {e.code}", "kind": "http",
                "code": e.code}
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        if isinstance(reason, ConnectionRefusedError):
            kind = "refused"
        elif isinstance(reason, (TimeoutError, socket.timeout)):
            kind = "timeout"
        else:
            kind = "other"
        return {"url": url, "error": str(reason), "kind": kind}


def in_scope(url):
    parts = urlsplit(url)
    return parts.scheme == "http" and parts.hostname == "127.0.0.1"


def crawl(start, b, pool, timeout_s, max_pages):
    """Breadth-first from start; returns every page's record."""
    seen, frontier, records = {start}, collections.deque([start]), []

    def discover(page):
        records.append(page)
        for link in page.get("links", ()):
            if in_scope(link) and link not in seen and \
                    len(seen) < max_pages:
                seen.add(link)
                frontier.append(link)

    if pool is None:
        while frontier:
            discover(scrape_page(frontier.popleft(), timeout_s))
    elif isinstance(pool, ThreadPoolExecutor):
        running = set()
        while frontier or running:
            while frontier:
                running.add(pool.submit(scrape_page, frontier.popleft(),
                                        timeout_s))
            done, running = wait(running, return_when=FIRST_COMPLETED)
            for f in done:
                discover(f.result())
    else:
        finished, inflight = queue.Queue(), 0
        while frontier or inflight:
            while frontier:
                pool.apply_async(scrape_page, (frontier.popleft(),
                                               timeout_s),
                                 callback=finished.put)
                inflight += 1
            discover(finished.get())
            inflight -= 1
            while not finished.empty():
                discover(finished.get())
                inflight -= 1
    return records


def verify(site, records, port, dead_port):
    """(good, wrong) as site_verify counts them."""
    seen, good, wrong = set(), 0, 0
    for pg in records:
        parts = urlsplit(pg["url"])
        path, uport = parts.path, parts.port
        page = numbered(path, "/page/")
        slow = numbered(path, "/slow/")
        if parts.hostname != "127.0.0.1" or parts.query:
            wrong += 1
        elif uport == port and page is not None and page < site.pages:
            ok = (pg["kind"] == "ok" and pg["title"] == site.title(page) and
                  len(pg["links"]) == site.link_count(page))
            if ("page", page) not in seen and ok:
                good += 1
            else:
                wrong += 1
            seen.add(("page", page))
        else:
            if uport == dead_port and page is not None and page < site.dead:
                key, ok = ("dead", page), pg["kind"] == "refused"
            elif uport == port and slow is not None and slow < site.slow:
                key, ok = ("slow", slow), pg["kind"] == "timeout"
            elif uport == port and page is not None and \
                    0 <= page - site.pages < site.missing:
                key = ("missing", page)
                ok = pg["kind"] == "http" and pg.get("code") == 404
            else:
                wrong += 1
                continue
            if key not in seen and ok:
                good += 1
            else:
                wrong += 1
            seen.add(key)
    return good, wrong


def show_page(b, pg):
    if pg["kind"] == "ok":
        b.text(f"  {{'url': '{pg['url']}', 'title': '{pg['title']}', "
               f"'links': {len(pg['links'])}}}")
    else:
        b.text(f"  {{'url': '{pg['url']}', 'error': '{pg['error']}'}}")


def main():
    b = common.Bench(
        "crawl", "breadth-first crawl of a generated site on a local HTTP "
        "server", ("threads", "seq", "procs"),
        [("pages", "int", 200, "pages in the site", (1, 100000, "N")),
         ("links", "int", 4, "random links per page, besides two to its "
          "children", (0, MAX_LINKS, "L")),
         ("delay-ms", "int", 20, "server delay before every response",
          (0, 10000, "MS")),
         ("timeout-ms", "int", 2000, "per-page timeout", (1, 600000, "MS")),
         ("dead", "int", 0, "links to a refused port (connection errors)",
          (0, 1000, "K")),
         ("slow", "int", 0, "links the server never answers (timeouts)",
          (0, 1000, "K")),
         ("missing", "int", 0, "links to pages that answer 404",
          (0, 1000, "K")),
         ("seed", "int", 1, "seed of the links", (0, 1000000000, "S")),
         ("show", "flag", False, "print every page record (text format)",
          None)],
        default_workers=10)    # the tutorial's ThreadPoolExecutor(10)
    if b.chunk > 1:
        b.usage_error("--chunk: crawl fetches one page per task")
    t0 = common.now()
    site = Site(b.pages, b.links, b.dead, b.slow, b.missing, b.seed)
    # Bound but never listening: a connection to it is refused.
    dead_sock = socket.socket()
    dead_sock.bind(("127.0.0.1", 0))
    dead_port = dead_sock.getsockname()[1]
    pool = None
    if b.mode == "threads":
        pool = ThreadPoolExecutor(max_workers=b.workers)
        list(pool.map(int, range(b.workers)))
    elif b.mode == "procs":
        pool = Pool(b.workers)
    setup_s = common.now() - t0
    expected = b.pages + site.nfaults
    max_pages = 2 * expected
    variant = f"delay{b.delay_ms}ms"
    try:
        for rep in range(b.repeat):
            t0 = common.now()
            server = Server(site, b.delay_ms, dead_port)
            setup = common.now() - t0 + (setup_s if rep == 0 else 0.0)
            start = f"http://127.0.0.1:{server.port}/page/0.html"
            t0 = b.kernel_start()
            records = crawl(start, b, pool, b.timeout_ms / 1000.0,
                            max_pages)
            kernel_s = common.now() - t0
            r = b.record(rep, variant=variant, n=b.pages, chunk=1,
                         tasks=len(records), setup_s=setup,
                         kernel_s=kernel_s)
            twice = server.stop()
            good, wrong = verify(site, records, server.port, dead_port)
            r.update(result=good - wrong - twice, expected=expected)
            if b.show:
                for pg in records:
                    show_page(b, pg)
            status = b.emit(r)
            errors = sum(1 for pg in records if pg["kind"] != "ok")
            workers = 1 if b.mode == "seq" else min(b.workers, b.pages)
            b.text(f"  {len(records) - errors} pages, {errors} errors in "
                   f"{kernel_s:.3f} s: {len(records) / kernel_s:.1f} "
                   "pages/s" + (f"; ideal {workers} x 1000 / {b.delay_ms} "
                                f"ms = {workers * 1000 / b.delay_ms:.1f} "
                                "pages/s" if b.delay_ms else ""))
            if status:
                break
    finally:
        if isinstance(pool, ThreadPoolExecutor):
            pool.shutdown()
        elif pool is not None:
            pool.close()
            pool.join()
        dead_sock.close()
    return b.finish()


if __name__ == "__main__":
    sys.exit(main())
