package joblot

import "strings"

// Bounds of the message normaliser.
const (
	// maxNormalizedBytes bounds a normalised message: text that far into a
	// message rarely tells two failure shapes apart, and it bounds the
	// hashing on the failure path.
	maxNormalizedBytes = 256
	// maxNormalizeInput bounds how much of a message is read, so a job
	// returning megabytes of error text costs no more than a long one.
	maxNormalizeInput = 4096
	// maxQuoteDepth bounds quoted text inside quoted text (a gRPC desc
	// quoting a nested error); deeper quotes fold.
	maxQuoteDepth = 3
	// maxQuotedScan bounds the search for a closing quote.
	maxQuotedScan = 1024
	// minOpaqueLen is the shortest token the character-mix test folds.
	minOpaqueLen = 16
	// foldMark replaces every folded value.
	foldMark = '*'
)

// normalizeMessage returns msg with its variable parts folded, so that
// failures of one shape with different ids, numbers or addresses share a
// fingerprint. See appendNormalized for the rules.
func normalizeMessage(msg string) string {
	var n normalizer
	return string(n.normalize(msg))
}

// appendNormalized appends the normalised msg to dst (which it expects
// empty) and returns it, at most maxNormalizedBytes long. Words stay; what
// varies between two failures of one shape folds to a single '*', and a run
// of folded values separated only by spaces or commas folds to one:
//
//   - Whitespace runs become one space.
//   - Numbers, with a sign, decimals or dotted parts (42, -1, 3.5, 1.2.3),
//     fold; a unit after a number stays (12items -> *items), except sizes
//     and Go durations (10MB, 1.5GiB, 152ms, 1h2m3.5s), whose unit varies
//     with the magnitude: they fold whole.
//   - HTTP status codes stay: a three-digit number from 100 to 599 right
//     after the word status, statuscode, code, http or https (in any case,
//     with only punctuation between: "status 404", "StatusCode: 404",
//     "status_code=503", "HTTP 502", "HTTP/1.1 404"), or followed by a
//     reason phrase ("404 Not Found", "200 OK").
//   - Words stay, so gRPC code names (code = NotFound), sentinel texts and
//     identifiers such as utf8, s3, http2, ipv4, oauth2, sha256, x509, k8s
//     survive.
//   - Tokens that look random fold. A letter-led run of letters and digits
//     looks random when it alternates letters and digits four times or more
//     (a1b2, 01ARZ3NDEK...), has four digits or more in a row (item1234), has
//     three alternations and ten characters or more, is hex of seven
//     characters or more with a digit (deadbeef01, a3f9c2e), or has twelve
//     characters or more and no lower case (7WDGF1M2YXDQ4ZPN). A digit-led
//     run with letters then digits again (3MqLiJ2e), hex of seven or more,
//     or twelve or more with no lower case folds whole. A token of letters, digits and + / = of 16 characters or
//     more whose characters change between upper case, lower case and
//     digits at 40% or more of its positions (base64, request ids) folds
//     whole; CamelCase words (ResourceNotFoundException) change far less.
//     A token with a '/' needs a '+' or a final '=' to count (a path is
//     not base64); base64 without either falls to the rules for runs.
//   - The value after a word naming an id and a ':', '=' or '#' folds
//     whole, up to a space or a closing mark ("RequestID: X", "request
//     id: X", "request_id=X", "id #X").
//   - Prefixed ids fold after their prefix: a run of eight characters or
//     more, not all lower case, right after a lower-case prefix of one to
//     six letters and '_' or '-' (ch_..., cus_..., pi_..., req-...).
//   - Hex (0x1f), UUIDs, emails, IPv4 and IPv6 addresses with their ports,
//     timestamps (RFC 3339, "2006-01-02 15:04:05", 15:04:05.000, common log
//     format 10/Oct/2000:13:55:36 -0700, and month or weekday names next to
//     a date's numbers) fold.
//   - URLs keep their scheme, host and the words of their path; numbers and
//     ids in the host (a port, an IP address) and path segments fold by the
//     rules above, every query value and the fragment fold, user info
//     folds.
//   - Quoted values ("x", 'x', `x`) fold to "*", except quoted text that is a
//     phrase (it has a space: a nested error message), a URL, a
//     snake_case code (card_declined) or a JSON key ({"status":402}), which
//     is normalised like the rest of the message.
//   - file:line folds its numbers (main.go:42 -> main.go:*).
func appendNormalized(dst []byte, msg string) []byte {
	var n normalizer
	return append(dst, n.normalize(msg)...)
}

// normalize normalises msg into n's buffer (see appendNormalized) and
// returns it; the result is valid until n is used again.
func (n *normalizer) normalize(msg string) []byte {
	if len(msg) > maxNormalizeInput {
		msg = msg[:maxNormalizeInput]
	}
	*n = normalizer{lastFold: -1}
	n.run(msg)
	for n.n > 0 && n.buf[n.n-1] == ' ' {
		n.n--
	}
	return n.buf[:n.n]
}

// normalizer is the state of one normalisation.
//
// Its output lives in a fixed array, not a slice, so a normalizer on the
// stack stays there: no allocation per failure.
type normalizer struct {
	buf [maxNormalizedBytes]byte
	n   int // bytes of buf in use
	// lastFold is n right after the last fold mark, -1 before any.
	lastFold int
	// statusCtx: the last word makes a following 1xx-5xx number an HTTP
	// status.
	statusCtx bool
	// idCtx is idWord after a word naming an id (RequestID, request_id,
	// id), idValue once a ':', '=' or '#' follows it: the next token is
	// that id's value.
	idCtx int8
	depth int
}

// States of normalizer.idCtx.
const (
	idNone int8 = iota
	idWord
	idValue
)

// writeByte appends c, dropping what goes past the bound.
func (n *normalizer) writeByte(c byte) {
	if n.n < len(n.buf) {
		n.buf[n.n] = c
		n.n++
	}
}

// writeString appends w, dropping what goes past the bound.
func (n *normalizer) writeString(w string) {
	n.n += copy(n.buf[n.n:], w)
}

func (n *normalizer) run(s string) {
	for i := 0; i < len(s) && n.n < len(n.buf); {
		c := s[i]
		switch {
		case c <= ' ' || c == 0x7f:
			for i < len(s) && (s[i] <= ' ' || s[i] == 0x7f) {
				i++
			}
			if n.n > 0 && n.buf[n.n-1] != ' ' {
				n.writeByte(' ')
			}
		case n.idCtx == idValue && c != '"' && c != '\'' && c != '`' && c != '[' && c != '(':
			i = idValueEnd(s, i)
			n.fold()
		case c == '"' || c == '\'' || c == '`':
			i = n.quoted(s, i)
		case isDigit(c):
			i = n.number(s, i, i)
		case isRunByte(c):
			i = n.word(s, i)
		case (c == '-' || c == '+') && i+1 < len(s) && isDigit(s[i+1]) && (i == 0 || !isAlnum(s[i-1])):
			if j := matchOpaque(s, i); j > 0 && c == '+' && (i == 0 || !isOpaqueByte(s[i-1])) {
				n.fold()
				i = j
				break
			}
			i = n.number(s, i, i+1) // the sign is part of the number
		case c == '[':
			if j := matchIPv6Bracketed(s, i); j > 0 {
				n.fold()
				i = j
			} else {
				n.writeByte(c)
				i++
			}
		case c == ':' && i+1 < len(s) && s[i+1] == ':':
			if j := matchIPv6(s, i); j > 0 {
				n.fold()
				i = j
			} else {
				n.writeByte(c)
				i++
			}
		case c == '+' && (i == 0 || !isOpaqueByte(s[i-1])):
			if j := matchOpaque(s, i); j > 0 {
				n.fold()
				i = j
			} else {
				n.writeByte(c)
				i++
			}
		default:
			n.writeByte(c)
			i++
			if n.idCtx == idWord && (c == ':' || c == '=' || c == '#') {
				n.idCtx = idValue
			} else if c != ':' && c != '=' && c != '#' {
				n.idCtx = idNone
			}
		}
	}
}

// idValueEnd returns the end of the id value starting at s[i]: up to a
// space, a quote or a closing or separating punctuation mark.
func idValueEnd(s string, i int) int {
	j := i
	for j < len(s) && s[j] > ' ' && strings.IndexByte(`,;)]}>"'`+"`", s[j]) < 0 {
		j++
	}
	for j > i+1 && (s[j-1] == '.' || s[j-1] == ':') {
		j--
	}
	return j
}

// isIDWord reports whether w names an id: id in any case, or a CamelCase
// name ending in ID or Id (RequestID, HostID, userId).
func isIDWord(w string) bool {
	if len(w) == 2 {
		return strings.EqualFold(w, "id")
	}
	return len(w) > 2 && (strings.HasSuffix(w, "ID") || (strings.HasSuffix(w, "Id") && w[len(w)-3] >= 'a' && w[len(w)-3] <= 'z'))
}

// fold appends the fold mark, or nothing when the last thing appended was
// one with only spaces or commas since: "[1 2 3]" and "[1]" both read
// "[*]".
func (n *normalizer) fold() {
	n.statusCtx = false
	n.idCtx = idNone
	if n.lastFold >= 0 && onlySeparators(n.buf[n.lastFold:n.n]) {
		n.n = n.lastFold
		return
	}
	n.writeByte(foldMark)
	n.lastFold = n.n
}

func onlySeparators(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != ',' {
			return false
		}
	}
	return true
}

// special folds what starts at s[i] and spans several runs (a UUID, an
// address, a timestamp, an email, an opaque token), returning the end, or 0.
func (n *normalizer) special(s string, i int) int {
	c := s[i]
	if isHex(c) {
		if j := matchUUID(s, i); j > 0 {
			return j
		}
		if j := matchIPv6(s, i); j > 0 {
			return j
		}
	}
	if isDigit(c) {
		if j := matchIPv4(s, i); j > 0 {
			return j
		}
		if j := matchTimestamp(s, i); j > 0 {
			return j
		}
	}
	if i == 0 || !isEmailLocal(s[i-1]) {
		if j := matchEmail(s, i); j > 0 {
			return j
		}
	}
	if i == 0 || !isOpaqueByte(s[i-1]) {
		if j := matchOpaque(s, i); j > 0 {
			return j
		}
	}
	return 0
}

// number handles a run starting with a digit at d; start is where its sign
// is, if any.
func (n *normalizer) number(s string, start, d int) int {
	if j := n.special(s, d); j > 0 {
		n.fold()
		return j
	}
	m := runEnd(s, d)
	if afterIDPrefix(s, start) && m-d >= 8 {
		n.fold()
		return m
	}
	j := d
	for j < len(s) && isDigit(s[j]) {
		j++
	}
	if s[d] == '0' && j == d+1 && j+1 < len(s) && (s[j] == 'x' || s[j] == 'X') && isHex(s[j+1]) {
		k := j + 1
		for k < len(s) && isHex(s[k]) {
			k++
		}
		if k == len(s) || !isRunByte(s[k]) {
			n.fold()
			return k
		}
	}
	if k := matchDuration(s, d); k > 0 {
		n.fold()
		return k
	}
	k := j
	for k+1 < len(s) && s[k] == '.' && isDigit(s[k+1]) {
		k += 2
		for k < len(s) && isDigit(s[k]) {
			k++
		}
	}
	m = runEnd(s, k)
	unit := s[k:m]
	switch {
	case unit == "":
		if start == d && k == j && j-d == 3 && s[d] >= '1' && s[d] <= '5' && (n.statusCtx || reasonPhraseFollows(s, j)) {
			n.writeString(s[d:j])
			n.statusCtx = false
			n.idCtx = idNone
			return j
		}
		n.fold()
		return k
	case !hasDigit(unit) && (isSizeUnit(unit) || (k == j && m-d >= 7 && allHex(s[d:m])) || (m-d >= 12 && !hasLower(unit))):
		n.fold()
		return m
	case !hasDigit(unit):
		n.fold()
		n.writeString(unit)
		n.idCtx = idNone
		return m
	default:
		n.fold() // digits, letters, digits: an id
		return m
	}
}

// word handles a run starting with a letter (or a non-ASCII byte) at i.
func (n *normalizer) word(s string, i int) int {
	j := runEnd(s, i)
	run := s[i:j]
	if j+2 < len(s) && s[j] == ':' && s[j+1] == '/' && s[j+2] == '/' && isScheme(run) {
		return n.url(s, i, j)
	}
	if k := n.special(s, i); k > 0 {
		n.fold()
		return k
	}
	if strings.EqualFold(run, "http") && j+1 < len(s) && s[j] == '/' && isDigit(s[j+1]) {
		k := j + 1
		for k < len(s) && (isDigit(s[k]) || s[k] == '.') {
			k++
		}
		n.writeString(s[i:k])
		n.statusCtx = true
		return k
	}
	if isDateName(run) && n.inDate(s, j) {
		n.fold()
		return j
	}
	if afterIDPrefix(s, i) && len(run) >= 8 && !allLower(run) && isASCIIAlnum(run) {
		n.fold()
		return j
	}
	if hasDigit(run) && looksRandom(run) {
		n.fold()
		return j
	}
	n.writeString(run)
	n.statusCtx = isStatusWord(run)
	n.idCtx = idNone
	if isIDWord(run) {
		n.idCtx = idWord
	}
	return j
}

// inDate reports whether the month or weekday name ending at j is part of
// a date: a number or another such name follows, or a folded value
// precedes it.
func (n *normalizer) inDate(s string, j int) bool {
	k := j
	for k < len(s) && (s[k] == ' ' || s[k] == ',') {
		k++
	}
	if k < len(s) && isDigit(s[k]) {
		return true
	}
	if e := runEnd(s, k); e > k && isDateName(s[k:e]) {
		return true
	}
	return n.lastFold >= 0 && onlySeparators(n.buf[n.lastFold:n.n])
}

// url normalises the URL whose scheme is s[i:j] ("://" follows).
func (n *normalizer) url(s string, i, j int) int {
	end := j + 3
	for end < len(s) && !isURLStop(s[end]) {
		end++
	}
	for end > j+3 && strings.IndexByte(".,;:!?)]}", s[end-1]) >= 0 {
		end--
	}
	n.writeString(s[i : j+3])
	rest := s[j+3 : end]
	authEnd := len(rest)
	if k := strings.IndexAny(rest, "/?#"); k >= 0 {
		authEnd = k
	}
	auth := rest[:authEnd]
	if at := strings.LastIndexByte(auth, '@'); at >= 0 {
		n.fold()
		n.writeByte('@')
		auth = auth[at+1:]
	}
	n.run(auth)
	rest = rest[authEnd:]
	frag := ""
	if k := strings.IndexByte(rest, '#'); k >= 0 {
		rest, frag = rest[:k], rest[k:]
	}
	path, query, hasQuery := strings.Cut(rest, "?")
	n.run(path)
	if hasQuery {
		n.writeByte('?')
		for p := range strings.SplitSeq(query, "&") {
			if n.buf[n.n-1] != '?' {
				n.writeByte('&')
			}
			key, _, hasValue := strings.Cut(p, "=")
			n.run(key)
			if hasValue {
				n.writeByte('=')
				n.writeByte(foldMark)
			}
		}
	}
	if frag != "" {
		n.writeByte('#')
		n.writeByte(foldMark)
	}
	n.statusCtx = false
	n.idCtx = idNone
	return end
}

// quoted handles a quote character at s[i].
func (n *normalizer) quoted(s string, i int) int {
	q := s[i]
	if i > 0 && isAlnum(s[i-1]) {
		n.writeByte(q) // an apostrophe inside a word
		return i + 1
	}
	limit := min(len(s), i+1+maxQuotedScan)
	k := i + 1
	for ; k < limit; k++ {
		c := s[k]
		if c == '\\' && q != '\'' && n.depth == 0 {
			k++
			continue
		}
		if c == q && (q != '\'' || k+1 >= len(s) || !isAlnum(s[k+1])) {
			break
		}
	}
	if k >= limit {
		n.writeByte(q)
		return i + 1
	}
	content := s[i+1 : k]
	if n.depth < maxQuoteDepth && keepQuoted(content, s, i, k) {
		n.writeByte(q)
		n.depth++
		n.run(content)
		n.depth--
		n.writeByte(q)
		return k + 1
	}
	n.writeByte(q)
	n.writeByte(foldMark)
	n.writeByte(q)
	n.statusCtx = false
	n.idCtx = idNone
	return k + 1
}

// keepQuoted reports whether the quoted content s[i+1:k] is worth
// normalising rather than folding whole: a phrase, a URL, a snake_case
// code, a JSON key.
func keepQuoted(content, s string, i, k int) bool {
	if content == "" || strings.IndexByte(content, ' ') >= 0 || strings.Contains(content, "://") {
		return true
	}
	if i > 0 && (s[i-1] == '{' || s[i-1] == ',') && k+1 < len(s) && s[k+1] == ':' {
		return true
	}
	if len(content) > 64 || strings.IndexByte(content, '_') < 0 {
		return false
	}
	for j := 0; j < len(content); j++ {
		if c := content[j]; c != '_' && (c < 'a' || c > 'z') {
			return false
		}
	}
	return true
}

// looksRandom reports whether a letter-led run holding digits is an id
// rather than an identifier like utf8 or sha256.
func looksRandom(run string) bool {
	if !isASCIIAlnum(run) {
		return false
	}
	runs, digitRun, maxDigitRun := 1, 0, 0
	for j := 0; j < len(run); j++ {
		if j > 0 && isDigit(run[j]) != isDigit(run[j-1]) {
			runs++
		}
		if isDigit(run[j]) {
			digitRun++
			maxDigitRun = max(maxDigitRun, digitRun)
		} else {
			digitRun = 0
		}
	}
	return runs >= 4 || maxDigitRun >= 4 || (runs == 3 && len(run) >= 10) || (len(run) >= 7 && allHex(run)) ||
		(len(run) >= 12 && !hasLower(run))
}

// matchOpaque matches a token of letters, digits and + / = (base64, keys,
// request ids) at s[i] whose character classes change too often for a
// word. A token with a '/' counts only with a '+' or a final '=' in it, so
// that paths stay paths.
func matchOpaque(s string, i int) int {
	j := i
	changes, alnum, digits := 0, 0, 0
	prev := byte(0)
	slash, plus := false, false
	for j < len(s) && isOpaqueByte(s[j]) {
		slash = slash || s[j] == '/'
		plus = plus || s[j] == '+'
		if cl := charClass(s[j]); cl != 0 {
			if prev != 0 && cl != prev {
				changes++
			}
			if cl == 'd' {
				digits++
			}
			prev = cl
			alnum++
		}
		j++
	}
	if j-i < minOpaqueLen || alnum < 2 || (j < len(s) && s[j] >= 0x80) {
		return 0
	}
	if slash && !plus && s[j-1] != '=' {
		return 0 // a path, unless base64 shows itself by a '+' or padding
	}
	if changes*5 >= (alnum-1)*2 || (digits > 0 && allHex(s[i:j])) {
		return j
	}
	return 0
}

func charClass(c byte) byte {
	switch {
	case isDigit(c):
		return 'd'
	case c >= 'a' && c <= 'z':
		return 'l'
	case c >= 'A' && c <= 'Z':
		return 'u'
	}
	return 0
}

func isOpaqueByte(c byte) bool { return isAlnum(c) || c == '+' || c == '/' || c == '=' }

// matchDuration matches a Go duration (152ms, 3.5s, 1h2m3.5s, 10µs) at
// s[i].
func matchDuration(s string, i int) int {
	j, parts := i, 0
	for j < len(s) && isDigit(s[j]) {
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		if j+1 < len(s) && s[j] == '.' && isDigit(s[j+1]) {
			j++
			for j < len(s) && isDigit(s[j]) {
				j++
			}
		}
		u := durationUnit(s[j:])
		if u == 0 {
			return 0
		}
		j += u
		parts++
	}
	if parts == 0 || (j < len(s) && isRunByte(s[j]) && !strings.HasPrefix(s[j:], "…")) {
		return 0
	}
	return j
}

func durationUnit(s string) int {
	for _, u := range [...]string{"ns", "us", "µs", "μs", "ms", "s", "m", "h"} {
		if strings.HasPrefix(s, u) {
			return len(u)
		}
	}
	return 0
}

func isSizeUnit(u string) bool {
	switch strings.ToLower(u) {
	case "b", "k", "kb", "kib", "mb", "mib", "g", "gb", "gib", "tb", "tib", "pb", "pib":
		return true
	}
	return false
}

// matchUUID matches a UUID (8-4-4-4-12 hex digits) at s[i].
func matchUUID(s string, i int) int {
	const n = 36
	if len(s)-i < n {
		return 0
	}
	for k := 0; k < n; k++ {
		c := s[i+k]
		if k == 8 || k == 13 || k == 18 || k == 23 {
			if c != '-' {
				return 0
			}
		} else if !isHex(c) {
			return 0
		}
	}
	if i+n < len(s) && isRunByte(s[i+n]) {
		return 0
	}
	return i + n
}

// matchIPv4 matches an IPv4 address with an optional port or prefix
// length at s[i].
func matchIPv4(s string, i int) int {
	j := i
	for part := 0; part < 4; part++ {
		if part > 0 {
			if j >= len(s) || s[j] != '.' {
				return 0
			}
			j++
		}
		k := j
		for k < len(s) && k-j < 3 && isDigit(s[k]) {
			k++
		}
		if k == j {
			return 0
		}
		j = k
	}
	if j < len(s) && (isRunByte(s[j]) || (s[j] == '.' && j+1 < len(s) && isDigit(s[j+1]))) {
		return 0
	}
	return portEnd(s, j)
}

// portEnd extends an address ending at j over ":port" or "/prefix".
func portEnd(s string, j int) int {
	if j+1 < len(s) && (s[j] == ':' || s[j] == '/') && isDigit(s[j+1]) {
		k := j + 1
		for k < len(s) && isDigit(s[k]) {
			k++
		}
		if k == len(s) || !isRunByte(s[k]) {
			return k
		}
	}
	return j
}

// matchIPv6 matches an unbracketed IPv6 address at s[i]: hex groups and
// colons with a "::" or seven colons, an optional zone.
func matchIPv6(s string, i int) int {
	j, colons, group, double := i, 0, 0, false
	for j < len(s) {
		c := s[j]
		switch {
		case c == ':':
			if j+1 < len(s) && s[j+1] == ':' {
				if double {
					return 0
				}
				double = true
				colons++
				j++
			}
			colons++
			group = 0
		case isHex(c):
			group++
			if group > 4 {
				return 0
			}
		case c == '.' && colons >= 2 && j+1 < len(s) && isDigit(s[j+1]):
			// an embedded IPv4 tail (::ffff:10.0.0.1)
		default:
			goto done
		}
		j++
	}
done:
	if j > i && s[j-1] == ':' && !(j-i >= 2 && s[j-2] == ':') {
		j-- // a colon after the address belongs to the message
		colons--
	}
	if colons < 2 || (!double && colons != 7) {
		return 0
	}
	if j < len(s) && s[j] == '%' {
		j++
		for j < len(s) && isAlnum(s[j]) {
			j++
		}
	}
	if j < len(s) && isRunByte(s[j]) {
		return 0
	}
	return j
}

// matchIPv6Bracketed matches "[addr]" or "[addr]:port" at s[i].
func matchIPv6Bracketed(s string, i int) int {
	end := strings.IndexByte(s[i+1:min(len(s), i+64)], ']')
	if end <= 0 {
		return 0
	}
	end += i + 1
	if matchIPv6(s[:end], i+1) != end {
		return 0
	}
	return portEnd(s, end+1)
}

// matchTimestamp matches a date (2006-01-02, 2006/01/02, 02/Jan/2006)
// with an optional time, or a time (15:04:05), with optional fractional
// seconds and zone, at s[i].
func matchTimestamp(s string, i int) int {
	j := i
	switch {
	case digitsAt(s, j, 4) && j+10 <= len(s) && (s[j+4] == '-' || s[j+4] == '/') && digitsAt(s, j+5, 2) && s[j+7] == s[j+4] && digitsAt(s, j+8, 2):
		j += 10
		if j+1 < len(s) && (s[j] == 'T' || s[j] == '_') && isDigit(s[j+1]) {
			if k := matchClock(s, j+1); k > 0 {
				j = k
			}
		}
	case isMonthDate(s, j):
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		j += 9 // /Jan/2006
		if j+1 < len(s) && s[j] == ':' && isDigit(s[j+1]) {
			if k := matchClock(s, j+1); k > 0 {
				j = k
			}
		}
	default:
		k := matchClock(s, j)
		if k == 0 {
			return 0
		}
		j = k
	}
	if j < len(s) && isRunByte(s[j]) {
		return 0
	}
	return j
}

// isMonthDate matches 2/Jan/2006 or 02/Jan/2006 at s[i].
func isMonthDate(s string, i int) bool {
	j := i
	for j < len(s) && j-i < 2 && isDigit(s[j]) {
		j++
	}
	return j > i && j+9 <= len(s) && s[j] == '/' && isDateName(s[j+1:j+4]) && s[j+4] == '/' && digitsAt(s, j+5, 4)
}

// matchClock matches 15:04:05 with optional fraction and zone (Z, +01:00,
// -0700) at s[i].
func matchClock(s string, i int) int {
	j := i
	if digitsAt(s, j, 2) {
		j += 2
	} else if digitsAt(s, j, 1) {
		j++
	} else {
		return 0
	}
	for range 2 {
		if j+3 > len(s) || s[j] != ':' || !digitsAt(s, j+1, 2) {
			return 0
		}
		j += 3
	}
	if j+1 < len(s) && (s[j] == '.' || s[j] == ',') && isDigit(s[j+1]) {
		j++
		for j < len(s) && isDigit(s[j]) {
			j++
		}
	}
	switch {
	case j < len(s) && s[j] == 'Z':
		j++
	case j+3 <= len(s) && (s[j] == '+' || s[j] == '-') && digitsAt(s, j+1, 2):
		j += 3
		if j+3 <= len(s) && s[j] == ':' && digitsAt(s, j+1, 2) {
			j += 3
		} else if digitsAt(s, j, 2) {
			j += 2
		}
	}
	return j
}

// matchEmail matches an email address at s[i].
func matchEmail(s string, i int) int {
	at := strings.IndexByte(s[i:min(len(s), i+65)], '@')
	if at <= 0 {
		return 0
	}
	for k := i; k < i+at; k++ {
		if !isEmailLocal(s[k]) {
			return 0
		}
	}
	j, dot := i+at+1, false
	for j < len(s) && (isAlnum(s[j]) || s[j] == '-' || (s[j] == '.' && j+1 < len(s) && isAlnum(s[j+1]))) {
		dot = dot || s[j] == '.'
		j++
	}
	if !dot {
		return 0
	}
	return j
}

func isEmailLocal(c byte) bool {
	return isAlnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-'
}

// afterIDPrefix reports whether s[i] follows an id prefix: one to six
// lower-case letters after a non-letter, then '_' or '-'.
func afterIDPrefix(s string, i int) bool {
	if i < 2 || (s[i-1] != '_' && s[i-1] != '-') {
		return false
	}
	p := i - 1
	for p > 0 && s[p-1] >= 'a' && s[p-1] <= 'z' {
		p--
	}
	l := i - 1 - p
	return l >= 1 && l <= 6 && (p == 0 || !isRunByte(s[p-1]))
}

// reasonPhraseFollows reports whether an HTTP reason phrase ("Not Found",
// "OK") follows the number ending at j.
func reasonPhraseFollows(s string, j int) bool {
	return j+2 < len(s) && s[j] == ' ' && s[j+1] >= 'A' && s[j+1] <= 'Z' &&
		((s[j+2] >= 'a' && s[j+2] <= 'z') || s[j+1:j+3] == "OK")
}

func isStatusWord(w string) bool {
	switch len(w) {
	case 4:
		return strings.EqualFold(w, "code") || strings.EqualFold(w, "http")
	case 5:
		return strings.EqualFold(w, "https")
	case 6:
		return strings.EqualFold(w, "status")
	case 10:
		return strings.EqualFold(w, "statuscode") || strings.EqualFold(w, "httpstatus")
	}
	return false
}

// isDateName reports whether w is an English month or weekday name or
// abbreviation, capitalised as dates print them.
func isDateName(w string) bool {
	if len(w) < 3 || w[0] < 'A' || w[0] > 'Z' {
		return false
	}
	switch w {
	case "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
		"January", "February", "March", "April", "June", "July", "August", "September", "October", "November", "December",
		"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun",
		"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday":
		return true
	}
	return false
}

func isScheme(w string) bool {
	if w == "" || !isLetter(w[0]) {
		return false
	}
	for j := 0; j < len(w); j++ {
		if !isAlnum(w[j]) {
			return false
		}
	}
	return true
}

func isURLStop(c byte) bool {
	return c <= ' ' || c == '"' || c == '\'' || c == '`' || c == '<' || c == '>' || c == 0x7f
}

func runEnd(s string, i int) int {
	for i < len(s) && isRunByte(s[i]) {
		i++
	}
	return i
}

func digitsAt(s string, i, n int) bool {
	if i < 0 || i+n > len(s) {
		return false
	}
	for k := i; k < i+n; k++ {
		if !isDigit(s[k]) {
			return false
		}
	}
	return true
}

func hasDigit(s string) bool {
	for j := 0; j < len(s); j++ {
		if isDigit(s[j]) {
			return true
		}
	}
	return false
}

func hasLower(s string) bool {
	for j := 0; j < len(s); j++ {
		if s[j] >= 'a' && s[j] <= 'z' {
			return true
		}
	}
	return false
}

func allHex(s string) bool {
	for j := 0; j < len(s); j++ {
		if !isHex(s[j]) {
			return false
		}
	}
	return true
}

func allLower(s string) bool {
	for j := 0; j < len(s); j++ {
		if s[j] < 'a' || s[j] > 'z' {
			return false
		}
	}
	return true
}

func isASCIIAlnum(s string) bool {
	for j := 0; j < len(s); j++ {
		if !isAlnum(s[j]) {
			return false
		}
	}
	return true
}

func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
func isLetter(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }
func isAlnum(c byte) bool  { return isDigit(c) || isLetter(c) }
func isHex(c byte) bool    { return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') }

// isRunByte: letters, digits and the bytes of non-ASCII characters make
// up the runs the rules classify.
func isRunByte(c byte) bool { return isAlnum(c) || c >= 0x80 }
