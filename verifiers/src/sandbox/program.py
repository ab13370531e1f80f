# verigym sandbox, the submission's side: the plain-data wire format shared with the judge,
# and the harness that runs one model-written program in its forked, isolated process.
#
# Nothing here decides a verdict. In io mode the program's stdout is compared in Rust; in
# call and assert modes this process only answers calls from the judge process (another uid,
# not dumpable), sending return values as plain data. Whatever the program does to this
# process, it can only change the values it answers with.
#
# Wire format: frames of a 4-byte big-endian length + UTF-8 JSON, where JSON null, booleans,
# numbers, strings and arrays are None, bool, int (any size), float, str and list, and
# one-key objects tag the rest: {"t": [..]} tuple, {"s": [..]} set, {"fs": [..]} frozenset,
# {"d": [[k, v], ..]} dict, {"b": "hex"} bytes, {"f": "nan" | "inf" | "-inf"} float.
import os, sys, io, json, builtins, types, traceback


def make_encoder(cap):
    """Strict encoder of plain data (exact built-in types only, bounded size and depth).
    Everything it calls is bound now, so a program that patches builtins or modules
    afterwards cannot change what it produces."""
    _type, _enumerate, _items, _hex, _join = type, enumerate, dict.items, bytes.hex, "".join
    _irepr, _frepr = int.__repr__, float.__repr__
    _str_enc = json.encoder.encode_basestring_ascii
    _none, _bool, _int, _float, _str, _bytes = type(None), bool, int, float, str, bytes
    _list, _tuple, _dict, _set, _frozenset = list, tuple, dict, set, frozenset
    _ValueError, _len, _inf = ValueError, len, float("inf")
    _name_of = type.__dict__["__name__"].__get__

    def encode(value):
        parts = []
        size = [0]

        def emit(s):
            size[0] += _len(s)
            if size[0] > cap:
                raise _ValueError("value is larger than the result limit")
            parts.append(s)

        def seq(tag, xs, depth):
            emit('{"%s":[' % tag if tag else "[")
            for i, x in _enumerate(xs):
                if i:
                    emit(",")
                walk(x, depth + 1)
            emit("]}" if tag else "]")

        def walk(v, depth):
            if depth > 100:
                raise _ValueError("value is nested too deeply")
            t = _type(v)
            if t is _none:
                emit("null")
            elif t is _bool:
                emit("true" if v else "false")
            elif t is _int:
                emit(_irepr(v))
            elif t is _float:
                if v != v:
                    emit('{"f":"nan"}')
                elif v == _inf or v == -_inf:
                    emit('{"f":"%s"}' % ("inf" if v > 0 else "-inf"))
                else:
                    emit(_frepr(v))
            elif t is _str:
                emit(_str_enc(v))
            elif t is _bytes:
                emit('{"b":"' + _hex(v) + '"}')
            elif t is _list:
                seq("", v, depth)
            elif t is _tuple:
                seq("t", v, depth)
            elif t is _set:
                seq("s", v, depth)
            elif t is _frozenset:
                seq("fs", v, depth)
            elif t is _dict:
                emit('{"d":[')
                for i, (k, x) in _enumerate(_items(v)):
                    emit(",[" if i else "[")
                    walk(k, depth + 2)
                    emit(",")
                    walk(x, depth + 2)
                    emit("]")
                emit("]}")
            else:
                raise _ValueError("a value of type %s is not plain data" % _name_of(t))

        walk(value, 0)
        return _join(parts)

    return encode


def make_decoder():
    """Decoder of the wire format into fresh built-in objects (nothing with behaviour)."""
    _loads, _type, _len, _list, _str = json.loads, type, len, list, str

    def tagged(obj):
        if _len(obj) != 1:
            raise ValueError("malformed plain value")
        ((tag, v),) = obj.items()
        if tag == "t" and _type(v) is _list:
            return tuple(v)
        if tag == "s" and _type(v) is _list:
            return set(v)
        if tag == "fs" and _type(v) is _list:
            return frozenset(v)
        if tag == "d" and _type(v) is _list:
            d = {}
            for pair in v:
                if _type(pair) is not _list or _len(pair) != 2:
                    raise ValueError("malformed dict item")
                d[pair[0]] = pair[1]
            return d
        if tag == "b" and _type(v) is _str:
            return bytes.fromhex(v)
        if tag == "f" and v in ("nan", "inf", "-inf"):
            return float(v)
        raise ValueError("unknown plain value tag")

    def reject(name):
        raise ValueError("%s is not a plain value" % name)

    def decode(text):
        return _loads(text, object_hook=tagged, parse_constant=reject)

    return decode


def program_main(setup):
    """Runs the program of `setup` in this (already isolated) process. Never returns."""
    # Bound before the program runs: patching modules, builtins or sys afterwards changes
    # nothing below.
    _write, _read, _exit, _type, _len, _str, _dict = os.write, os.read, os._exit, type, len, str, dict
    _getattr, _callable, _isinstance, _int, _bytes = getattr, callable, isinstance, int, bytes
    _base_exc, _sysexit, _module = BaseException, SystemExit, types.ModuleType
    _from_bytes, _print_exc = int.from_bytes, traceback.print_exc
    _name_of = type.__dict__["__name__"].__get__
    encode = make_encoder(setup["limits"]["result_bytes"])
    decode = make_decoder()

    def send(text):
        data = _str.encode(text, "utf-8", "replace")
        data = _int.to_bytes(_len(data), 4, "big") + data
        while data:
            data = data[_write(3, data):]

    def recv():
        """The next call from the judge, or None when it has no more."""
        head = b""
        while _len(head) < 4:
            chunk = _read(4, 4 - _len(head))
            if not chunk:
                return None
            head += chunk
        n = _from_bytes(head, "big")
        body = b""
        while _len(body) < n:
            chunk = _read(4, n - _len(body))
            if not chunk:
                return None
            body += chunk
        return _bytes.decode(body, "utf-8")

    def error(kind, e):
        try:
            errno_ = _getattr(e, "errno", None)
            errno_ = errno_ if _type(errno_) is _int else None
            message = _str(e)[:300]
            name = _name_of(_type(e))
        except _base_exc:
            errno_, message, name = None, "", "?"
        return encode(["error", kind, name, message, errno_])

    def flush():
        try:
            stdout.flush()
            sys.stderr.flush()
        except _base_exc:
            pass

    mode = setup["mode"]
    stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding="utf-8", errors="replace")
    sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False), encoding="utf-8", errors="replace")
    sys.stdout = stdout
    sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), encoding="utf-8", errors="replace", line_buffering=True)
    sys.argv = ["solution.py"]
    glob = {"__name__": "solution" if mode == "call" else "__main__", "__builtins__": builtins}
    try:
        code = compile(setup["program"], "solution.py", "exec")
    except _base_exc as e:
        send(error("syntax", e))
        _exit(1)
    try:
        exec(code, glob)
    except _sysexit as e:
        flush()
        if mode == "io" and e.code in (None, 0):
            send(encode(["ok", None]))
            _exit(0)
        send(encode(["error", "exit", "SystemExit", "program exited with %r" % (e.code,), None]))
        _exit(1)
    except _base_exc as e:
        try:
            _print_exc()
        except _base_exc:
            pass
        flush()
        send(error("runtime", e))
        _exit(1)
    flush()
    if mode == "io":
        send(encode(["ok", None]))
        _exit(0)
    # call and assert modes: tell the judge what the program defines, then answer its calls
    # until it closes the channel.
    names = []
    for k, v in _dict.items(glob):
        if _type(k) is not _str or k.startswith("__"):
            continue
        # Where a function says it comes from: the judge uses its own copy of functions
        # imported from modules it has (`from math import isclose`), never the program's.
        origin = _getattr(v, "__module__", "") if _callable(v) else ""
        origin = origin if _type(origin) is _str and origin != glob["__name__"] else ""
        if _isinstance(v, _module):
            names.append([k, "module", _str(_getattr(v, "__name__", "")), ""])
        elif _callable(v):
            qualname = _getattr(v, "__qualname__", "")
            names.append([k, "callable", origin, qualname if _type(qualname) is _str else ""])
    send(encode(["names", names]))
    while True:
        text = recv()
        if text is None:
            flush()
            _exit(0)
        try:
            name, args, kwargs = decode(text)
            owner, _, method = name.rpartition(".")
            fn = _dict.get(glob, owner or name)
            if not _callable(fn):
                send(encode(["error", "missing", "NameError", "function %r is not defined" % name, None]))
                continue
            # "Class.method" calls the method on a fresh instance (the LeetCode convention).
            if owner:
                fn = _getattr(fn(), method)
            reply = encode(["ok", fn(*args, **kwargs)])
        except _sysexit as e:
            flush()
            send(encode(["error", "exit", "SystemExit", "program exited with %r" % (e.code,), None]))
            _exit(1)
        except _base_exc as e:
            reply = error("runtime", e)
        flush()
        send(reply)
