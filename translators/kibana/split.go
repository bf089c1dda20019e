package kibana

import "bytes"

// splitFast finds the saved objects of a JSON export in one pass over the
// bytes, tracking only strings and brackets: the items of a top-level array
// or of an "objects" list, or the document itself. Each element is decoded
// and validated afterwards. It returns false when the input is not well
// formed enough to split, and the caller falls back to splitElements, whose
// errors say what is wrong.
func splitFast(data []byte) ([]element, bool) {
	i := skipSpace(data, 0)
	if i >= len(data) {
		return nil, false
	}
	switch data[i] {
	case '[':
		elems, end, ok := splitArray(data, i)
		return elems, ok && skipSpace(data, end) == len(data)
	case '{':
		end, ok := valueEnd(data, i)
		if !ok || skipSpace(data, end) != len(data) {
			return nil, false
		}
		if start, found := objectsList(data, i); found {
			elems, _, ok := splitArray(data, start)
			return elems, ok
		}
		return []element{{raw: data[i:end], offset: i}}, true
	}
	return nil, false
}

// splitArray splits the array that starts at data[i] into its elements.
func splitArray(data []byte, i int) ([]element, int, bool) {
	var out []element
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == ']' {
		return out, i + 1, true
	}
	for i < len(data) {
		end, ok := valueEnd(data, i)
		if !ok {
			return nil, 0, false
		}
		out = append(out, element{raw: data[i:end], offset: i})
		i = skipSpace(data, end)
		if i >= len(data) {
			return nil, 0, false
		}
		switch data[i] {
		case ']':
			return out, i + 1, true
		case ',':
			i = skipSpace(data, i+1)
		default:
			return nil, 0, false
		}
	}
	return nil, 0, false
}

// objectsList finds the value of a top-level "objects" key that is an
// array, in the object that starts at data[i].
func objectsList(data []byte, i int) (int, bool) {
	i = skipSpace(data, i+1)
	for i < len(data) && data[i] == '"' {
		keyEnd, ok := valueEnd(data, i)
		if !ok {
			return 0, false
		}
		key := data[i+1 : keyEnd-1]
		i = skipSpace(data, keyEnd)
		if i >= len(data) || data[i] != ':' {
			return 0, false
		}
		i = skipSpace(data, i+1)
		if bytes.Equal(key, []byte("objects")) && i < len(data) && data[i] == '[' {
			return i, true
		}
		end, ok := valueEnd(data, i)
		if !ok {
			return 0, false
		}
		i = skipSpace(data, end)
		if i < len(data) && data[i] == ',' {
			i = skipSpace(data, i+1)
		}
	}
	return 0, false
}

// valueEnd returns the offset just past the JSON value at data[i].
func valueEnd(data []byte, i int) (int, bool) {
	if i >= len(data) {
		return 0, false
	}
	switch data[i] {
	case '"':
		for j := i + 1; j < len(data); j++ {
			switch data[j] {
			case '\\':
				j++
			case '"':
				return j + 1, true
			}
		}
		return 0, false
	case '{', '[':
		depth := 0
		for j := i; j < len(data); j++ {
			switch data[j] {
			case '"':
				end, ok := valueEnd(data, j)
				if !ok {
					return 0, false
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, true
				}
			}
		}
		return 0, false
	}
	j := i
	for j < len(data) && !bytes.ContainsRune([]byte(" \t\r\n,]}"), rune(data[j])) {
		j++
	}
	return j, j > i
}

func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\r' || data[i] == '\n') {
		i++
	}
	return i
}
