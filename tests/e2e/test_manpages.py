"""The manual pages (docs/man/*.in, configured into <build>/docs/man/) against
the programs they describe.

Each page must render without a single groff warning, carry the sections an
operator looks for, and document what the code offers: every option the
program's own help prints and its getopt tables accept, every `moat` command
of `moat help` with each option of `moat help COMMAND`, every environment
variable the program's sources read, every exit status `moat --help` lists.
`meson install` must put them in man1/man8. A new option, command or
variable without its line in the page fails here, so the pages cannot drift
from the code silently.

Runs from `meson test -C build manpages` (suite docs) or
`MOAT_BUILD=$PWD/build python3 -m pytest -q tests/e2e/test_manpages.py`.
"""
import os
import re
import shutil
import subprocess
import tempfile

import pytest

from conftest import BUILD, ROOT

# page -> (program, its source files for getopt tables and getenv)
PAGES = {
    "moatd.8": ("moatd", ["src/engine/core/moatd.c", "src/engine/backtest/pcap.c"]),
    "moat.1": ("moat", ["src/cli/cli.c"]),
    "moat-ins.8": ("moat-ins", ["src/ins/main.c"]),
    "moat-chaff.8": ("moat-chaff", ["src/chaff/main.c"]),
}
# Where each program's getenv() calls live (all of it, not just main).
ENV_SOURCES = {
    "moatd.8": ["src/engine"],
    "moat.1": ["src/cli"],
    "moat-ins.8": ["src/ins", "src/proto/insproto.h"],
    "moat-chaff.8": ["src/chaff"],
}
REQUIRED_SECTIONS = ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "FILES", "ENVIRONMENT",
                     "SIGNALS", "EXIT STATUS", "EXAMPLES", "SEE ALSO"]
OPT_RE = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*|-[a-zA-Z])(?![\w-])")


def program(name):
    for sub in ("src/engine", "src/cli", "src/ins", "src/chaff"):
        p = os.path.join(BUILD, sub, name)
        if os.path.exists(p):
            return p
    return None


def page_path(page):
    """The configured page, or skip when its program's part is not built."""
    prog = PAGES[page][0]
    if program(prog) is None:
        pytest.skip("%s not built under %s" % (prog, BUILD))
    p = os.path.join(BUILD, "docs", "man", page)
    assert os.path.exists(p), "%s not configured (docs/man/meson.build)" % p
    return p


def run(args, rc=0):
    r = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert r.returncode == rc, "%s: exit %d, stderr %r" % (args, r.returncode, r.stderr)
    return r.stdout + r.stderr


# --- a small man(7) reader: enough for the pages' own conventions ---------

ARG_RE = re.compile(r'"((?:[^"]|"")*)"|(\S+)')


def unescape(s):
    s = re.sub(r"\\f(\[[^]]*\]|\(..|.)", "", s)
    for a, b in (("\\-", "-"), ("\\c", ""), ("\\&", ""), ("\\%", ""), ("\\~", " "),
                 ("\\e", "\\"), ("\\(aq", "'"), ("\\(lq", '"'), ("\\(rq", '"')):
        s = s.replace(a, b)
    return s


def text_of(line):
    """A source line as the words it prints (font macros' arguments joined)."""
    if not line.startswith("."):
        return unescape(line)
    parts = line.split(None, 1)
    macro, rest = parts[0][1:], parts[1] if len(parts) > 1 else ""
    args = [m.group(1) if m.group(1) is not None else m.group(2)
            for m in ARG_RE.finditer(rest)]
    if macro in ("BI", "BR", "IB", "IR", "RB", "RI"):
        return unescape("".join(args))       # alternating fonts: no spaces
    if macro in ("B", "I", "SM", "SB", "SH", "SS", "SY", "OP", "TH"):
        return unescape(" ".join(args))
    return ""


class Page:
    """Sections (.SH), subsections (.SS), their printed text and .TP tags."""

    def __init__(self, path):
        self.lines = [ln for ln in open(path, encoding="utf-8").read().splitlines()
                      if not ln.startswith('.\\"')]
        self.th = None
        self.sections = {}     # name -> list of lines
        self.subsections = {}  # SH name -> {SS name -> list of lines}
        sh = ss = None
        for ln in self.lines:
            if ln.startswith(".TH "):
                self.th = text_of(ln).split()
            elif ln.startswith(".SH "):
                sh, ss = text_of(ln), None
                assert sh not in self.sections, "section %s twice" % sh
                self.sections[sh] = []
                self.subsections[sh] = {}
            elif ln.startswith(".SS "):
                ss = text_of(ln)
                assert ss not in self.subsections[sh], "subsection %s twice" % ss
                self.subsections[sh][ss] = []
            elif sh is not None:
                self.sections[sh].append(ln)
                if ss is not None:
                    self.subsections[sh][ss].append(ln)

    @staticmethod
    def text(lines):
        return "\n".join(text_of(ln) for ln in lines)

    @staticmethod
    def tags(lines):
        """The printed tag of each .TP item."""
        return [text_of(lines[i + 1]) for i, ln in enumerate(lines[:-1])
                if ln.strip() == ".TP"]

    @staticmethod
    def tagged_options(lines):
        return {o for t in Page.tags(lines) for o in OPT_RE.findall(t)}

    def all_tagged_options(self):
        return set().union(*(self.tagged_options(v) for v in self.sections.values()))


def help_sections(text):
    """`moat help CMD` text: {'SYNOPSIS': '...', 'OPTIONS': '...', ...}."""
    out, cur = {}, None
    for ln in text.splitlines():
        if re.match(r"^[A-Z][A-Z ]+$", ln):
            cur = ln.strip()
            out[cur] = ""
        elif cur:
            out[cur] += ln + "\n"
    return out


def getopt_options(paths):
    """Long and short options of every getopt table in these files."""
    opts = set()
    for rel in paths:
        src = open(os.path.join(ROOT, rel), encoding="utf-8").read()
        opts |= {"--" + n for n in
                 re.findall(r'\{\s*"([a-z][a-z0-9-]*)"\s*,\s*\w+_argument', src)}
        for short in re.findall(r'getopt(?:_long)?\s*\([^;]*?,\s*"([^"]*)"', src, re.S):
            opts |= {"-" + c for c in short.lstrip("+:") if c.isalpha()}
    return opts


def getenv_names(roots):
    names = set()
    for rel in roots:
        top = os.path.join(ROOT, rel)
        files = [top] if os.path.isfile(top) else [
            os.path.join(d, f) for d, _, fs in os.walk(top) for f in fs
            if f.endswith((".c", ".h"))]
        for f in files:
            src = open(f, encoding="utf-8").read()
            names |= set(re.findall(r'getenv\("([A-Z_][A-Z0-9_]*)"\)', src))
            names |= set(re.findall(r'#define\s+\w*ENV\w*\s+"([A-Z_][A-Z0-9_]*)"', src))
    return names


# --- the tests -------------------------------------------------------------

@pytest.mark.parametrize("page", sorted(PAGES))
def test_page_renders_without_warnings(page):
    if shutil.which("groff") is None:
        pytest.fail("groff not installed (groff-base, scripts/deps.d/test.txt)")
    path = page_path(page)
    for args in (["groff", "-man", "-ww", "-z", path],
                 ["groff", "-man", "-ww", "-Tutf8", "-rLL=78n", path]):
        r = subprocess.run(args, capture_output=True, text=True, timeout=60)
        assert r.returncode == 0 and r.stderr == "", "%s: %s" % (args, r.stderr)
    assert not re.search(r"@[A-Z]+@", open(path, encoding="utf-8").read()), \
        "unconfigured placeholder in %s" % path
    # No links outside the repository: URLs only as local examples.
    for host in re.findall(r"https?://([^/\s:]+|\[[^]]*\])", r.stdout):
        assert host in ("127.0.0.1", "[::1]", "HOST", "www.example.test"), \
            "%s links to %s" % (page, host)


@pytest.mark.parametrize("page", sorted(PAGES))
def test_page_structure(page):
    p = Page(page_path(page))
    name, sect = page.rsplit(".", 1)
    assert p.th and p.th[0].lower() == name and p.th[1] == sect, p.th
    missing = [s for s in REQUIRED_SECTIONS if s not in p.sections]
    assert not missing, "%s lacks %s" % (page, missing)
    assert list(p.sections)[:3] == ["NAME", "SYNOPSIS", "DESCRIPTION"]
    assert re.match(r"^%s - \S" % re.escape(name), Page.text(p.sections["NAME"])), \
        "NAME must read '%s - what it is'" % name
    see = Page.text(p.sections["SEE ALSO"])
    for other in PAGES:
        if other != page:
            o, s = other.rsplit(".", 1)
            assert "%s(%s)" % (o, s) in see, "%s: SEE ALSO lacks %s(%s)" % (page, o, s)


def help_text(page):
    prog = program(PAGES[page][0])
    if page == "moatd.8":
        return run([prog, "--help"]) + run([prog, "--backtest", "--help"])
    if page == "moat.1":                  # its own options (the rest is commands' prose)
        return run([prog, "--help"]).split("Global options:", 1)[1].split("Exit status", 1)[0]
    return run([prog, "--help"])


@pytest.mark.parametrize("page", sorted(PAGES))
def test_every_printed_option_is_documented(page):
    path = page_path(page)
    printed = set(OPT_RE.findall(help_text(page)))
    assert printed, "no option found in %s's help" % page
    documented = Page(path).all_tagged_options()
    missing = sorted(printed - documented)
    assert not missing, "%s: options printed by the program but not an item of the page: %s" % (
        page, missing)


@pytest.mark.parametrize("page", sorted(PAGES))
def test_every_accepted_option_is_documented(page):
    """The getopt tables, not just the help: an option added to the code but
    forgotten in its usage text is caught too."""
    path = page_path(page)
    accepted = getopt_options(PAGES[page][1])
    assert accepted, "no getopt table found in %s" % PAGES[page][1]
    missing = sorted(accepted - Page(path).all_tagged_options())
    assert not missing, "%s: options the code accepts but the page lacks: %s" % (page, missing)


@pytest.mark.parametrize("page", sorted(PAGES))
def test_every_environment_variable_is_documented(page):
    path = page_path(page)
    names = getenv_names(ENV_SOURCES[page])
    env = Page(path).sections["ENVIRONMENT"]
    tagged = set(Page.tags(env))
    missing = sorted(n for n in names if n not in tagged)
    assert not missing, "%s: the code reads %s but ENVIRONMENT lacks it" % (page, missing)


def moat_commands():
    out = run([program("moat"), "help"])
    block = out.split("Commands:", 1)[1].split("Global options:", 1)[0]
    cmds = re.findall(r"^  ([a-z][a-z-]*)\s{2,}\S", block, re.M)
    assert len(cmds) >= 10, block
    return cmds


def test_moat_every_command_has_its_subsection():
    p = Page(page_path("moat.1"))
    documented = list(p.subsections["COMMANDS"])
    cmds = moat_commands()
    missing = [c for c in cmds if c not in documented]
    stale = [c for c in documented if c not in cmds]
    assert not missing, "moat.1: commands without a subsection: %s" % missing
    assert not stale, "moat.1: subsections for commands moat does not have: %s" % stale
    assert documented == cmds, "moat.1: keep the commands in the order of `moat help`"


def test_moat_every_command_option_is_documented():
    moat = program("moat")
    p = Page(page_path("moat.1"))
    problems = []
    for cmd in moat_commands():
        lines = p.subsections["COMMANDS"][cmd]
        sec = help_sections(run([moat, "help", cmd]))
        mentioned = set(OPT_RE.findall(Page.text(lines)))
        tagged = Page.tagged_options(lines)
        for o in set(OPT_RE.findall(sec.get("SYNOPSIS", ""))) - mentioned:
            problems.append("%s: %s (synopsis) not in its subsection" % (cmd, o))
        items = re.findall(r"^ {4}(-\S+)", sec.get("OPTIONS", ""), re.M)  # the items, not prose
        for o in set(items) - tagged:
            problems.append("%s: %s (options) not an item of its subsection" % (cmd, o))
        env_tags = set(Page.tags(p.sections["ENVIRONMENT"]))
        for var in re.findall(r"^    ([A-Z_]{3,})\s", sec.get("ENVIRONMENT", ""), re.M):
            if var not in env_tags:
                problems.append("%s: %s not in ENVIRONMENT" % (cmd, var))
    assert not problems, "\n".join(problems)


def test_moat_exit_statuses_are_documented():
    out = run([program("moat"), "--help"])
    listed = re.findall(r"(\d) [a-z]", out.split("Exit status:", 1)[1])
    p = Page(page_path("moat.1"))
    tags = set(Page.tags(p.sections["EXIT STATUS"]))
    assert listed and set(listed) <= tags, (listed, tags)


def test_meson_install_puts_pages_in_mandir():
    built = [pg for pg in PAGES if program(PAGES[pg][0]) is not None]
    if not built:
        pytest.skip("no program built")
    with tempfile.TemporaryDirectory(prefix="moat-man-") as dest:
        run(["meson", "install", "-C", BUILD, "--no-rebuild", "--tags", "man",
             "--destdir", dest])
        found = {}
        for d, _, files in os.walk(dest):
            for f in files:
                found[f] = os.path.join(d, f)
        for pg in built:
            sect = pg.rsplit(".", 1)[1]
            assert pg in found, "meson install did not install %s" % pg
            assert os.path.basename(os.path.dirname(found[pg])) == "man" + sect, found[pg]
            assert os.path.basename(os.path.dirname(os.path.dirname(found[pg]))) == "man"
            with open(found[pg], "rb") as a, \
                    open(os.path.join(BUILD, "docs", "man", pg), "rb") as b:
                assert a.read() == b.read()
        # man(1) finds them there by name (what an operator types).
        if shutil.which("man"):
            mandir = os.path.dirname(os.path.dirname(found[built[0]]))
            for pg in built:
                name, sect = pg.rsplit(".", 1)
                out = subprocess.run(["man", "-M", mandir, "-w", sect, name],
                                     capture_output=True, text=True, timeout=60)
                assert out.returncode == 0 and out.stdout.strip() == found[pg], out
