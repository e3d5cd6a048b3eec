# yaml-flatten.awk: turn the YAML subset used by cloud-init seed files into
# one "path<TAB>value" line per scalar, so a shell script can look values up
# with grep instead of parsing YAML itself.
#
#   users:                          users.0.name<TAB>alice
#     - name: alice          ==>    users.0.ssh_authorized_keys.0<TAB>ssh-ed25519 AAAA...
#       ssh_authorized_keys: [ssh-ed25519 AAAA...]
#
# Supported subset (what NoCloud seeds use in practice):
#   - block mappings and block sequences, nested to any depth, including
#     "- key: value" items and sequences indented at their parent key's level;
#   - one-line flow sequences [a, b] and flow mappings {k: v} of scalars
#     (so one-line JSON meta-data works too);
#   - plain, 'single' and "double" quoted scalars, trailing " # comments";
#   - literal block scalars (| |- |+) and folded ones (> >-), for write_files.
# Not supported: anchors/aliases, tags, multi-line flow collections, multi-line
# quoted scalars, multiple documents. Values keep their text; newlines inside
# values are written as \n and backslashes as \\ (decode with printf '%b').

function escape(s) { gsub(/\\/, "\\\\", s); gsub(/\n/, "\\n", s); return s }
function emit(path, value) { printf "%s\t%s\n", path, escape(value) }
function join(path, key) { return path == "" ? key : path "." key }

function unquote(s,   q) {
    sub(/^[ \t]+/, "", s); sub(/[ \t]+$/, "", s)
    q = substr(s, 1, 1)
    if (q == "\"" && s ~ /"$/ && length(s) >= 2) {
        s = substr(s, 2, length(s) - 2)
        gsub(/\\"/, "\"", s); gsub(/\\n/, "\n", s); gsub(/\\t/, "\t", s); gsub(/\\\\/, "\\", s)
    } else if (q == "'" && s ~ /'$/ && length(s) >= 2) {
        s = substr(s, 2, length(s) - 2)
        gsub(/''/, "'", s)
    }
    return s
}

# Drop a trailing " # comment" that is not inside quotes.
function strip_comment(s,   i, c, inq) {
    inq = ""
    for (i = 1; i <= length(s); i++) {
        c = substr(s, i, 1)
        if (inq != "") { if (c == inq) inq = "" }
        else if (c == "\"" || c == "'") inq = c
        else if (c == "#" && (i == 1 || substr(s, i - 1, 1) ~ /[ \t]/)) return substr(s, 1, i - 1)
    }
    return s
}

# Split a flow collection body on top-level commas (quotes respected).
function split_flow(body, parts,   n, i, c, inq, cur) {
    n = 0; inq = ""; cur = ""
    for (i = 1; i <= length(body); i++) {
        c = substr(body, i, 1)
        if (inq != "") { if (c == inq) inq = ""; cur = cur c }
        else if (c == "\"" || c == "'") { inq = c; cur = cur c }
        else if (c == ",") { parts[++n] = cur; cur = "" }
        else cur = cur c
    }
    if (cur ~ /[^ \t]/) parts[++n] = cur
    return n
}

# key_of(s): the key if s is "key: ..." / "key:", else "" (KEYREST gets the rest).
function key_of(s,   m, k) {
    if (match(s, /^"[^"]*"[ \t]*:([ \t]|$)/) || match(s, /^'[^']*'[ \t]*:([ \t]|$)/) ||
        match(s, /^[^][ \t#'"{},-][^:]*:([ \t]|$)/) || match(s, /^-[^ \t][^:]*:([ \t]|$)/)) {
        k = substr(s, 1, RLENGTH); KEYREST = substr(s, RLENGTH + 1)
        sub(/[ \t]*:[ \t]*$/, "", k)
        return unquote(k)
    }
    return ""
}

# value(path, v, indent): emit a scalar or flow collection, or remember that a
# block scalar / nested block follows. Returns 1 if a nested block may follow.
function value(path, v, indent,   parts, n, i, k) {
    v = strip_comment(v); sub(/^[ \t]+/, "", v); sub(/[ \t]+$/, "", v)
    if (v == "") return 1
    if (v ~ /^[|>][-+]?$/) {
        BLOCK = 1; BLOCK_PATH = path; BLOCK_PARENT = indent; BLOCK_INDENT = -1
        BLOCK_TEXT = ""; BLOCK_STYLE = substr(v, 1, 1); BLOCK_CHOMP = substr(v, 2, 1)
        return 0
    }
    if (v ~ /^\[.*\]$/) {
        n = split_flow(substr(v, 2, length(v) - 2), parts)
        for (i = 1; i <= n; i++) emit(join(path, i - 1), unquote(parts[i]))
        return 0
    }
    if (v ~ /^\{.*\}$/) {
        n = split_flow(substr(v, 2, length(v) - 2), parts)
        for (i = 1; i <= n; i++) {
            k = key_of(unquote_key_space(parts[i]))
            if (k != "") value(join(path, k), KEYREST, indent + 1)
        }
        return 0
    }
    emit(path, unquote(v))
    return 0
}
function unquote_key_space(s) { sub(/^[ \t]+/, "", s); return s }

function finish_block(   text) {
    text = BLOCK_TEXT
    if (BLOCK_CHOMP != "+") sub(/\n+$/, "", text)
    if (BLOCK_CHOMP == "") text = text "\n"
    emit(BLOCK_PATH, text)
    BLOCK = 0
}

# The stack of open containers: indentation, path, and whether the entry is a
# sequence item (items at the same indentation are siblings, keys are parents).
function pop_to(indent, keep_equal_key) {
    while (DEPTH > 0 && (IND[DEPTH] > indent || (IND[DEPTH] == indent && !(keep_equal_key && !ITEM[DEPTH]))))
        DEPTH--
}
function top_path() { return DEPTH > 0 ? PATHS[DEPTH] : "" }
function push(indent, path, item) { DEPTH++; IND[DEPTH] = indent; PATHS[DEPTH] = path; ITEM[DEPTH] = item }

# line(indent, s): one logical line (a "- " item's rest is fed back in here).
function line(indent, s,   k, path, idx, rest, n) {
    if (s ~ /^-([ \t]|$)/) {
        pop_to(indent, 1)
        path = top_path(); idx = COUNT[path]++
        push(indent, join(path, idx), 1)
        rest = substr(s, 2); n = match(rest, /[^ \t]/)
        if (n == 0) return
        line(indent + 1 + n - 1, substr(rest, n))
        return
    }
    k = key_of(s)
    if (k != "") {
        pop_to(indent, 0)
        path = join(top_path(), k)
        if (value(path, KEYREST, indent)) push(indent, path, 0)
        return
    }
    # A bare scalar (or flow collection) as a whole document or item continuation.
    value(top_path(), s, indent)
}

BEGIN { DEPTH = 0; BLOCK = 0 }
{
    sub(/\r$/, "")
    if (BLOCK) {
        match($0, /^ */); ind = RLENGTH
        if ($0 ~ /^[ \t]*$/) { BLOCK_TEXT = BLOCK_TEXT "\n"; next }
        if (ind > BLOCK_PARENT) {
            if (BLOCK_INDENT < 0) BLOCK_INDENT = ind
            text = substr($0, BLOCK_INDENT + 1)
            if (BLOCK_STYLE == ">" && BLOCK_TEXT != "" && BLOCK_TEXT !~ /\n\n$/) sub(/\n$/, " ", BLOCK_TEXT)
            BLOCK_TEXT = BLOCK_TEXT text "\n"
            next
        }
        finish_block()
    }
    if ($0 ~ /^[ \t]*(#|$)/ || $0 ~ /^(---|\.\.\.)[ \t]*$/) next
    match($0, /^ */); ind = RLENGTH
    line(ind, substr($0, ind + 1))
}
END { if (BLOCK) finish_block() }
