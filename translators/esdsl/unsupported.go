package esdsl

import (
	"strings"

	"github.com/obs-migrate/migrate/translators/ast"
)

// Reasons for the query types that have no LogQL equivalent, by family.
const (
	reasonGeo = "Geo queries compare geo_point or geo_shape fields by distance or area, " +
		"which LogQL cannot compute."
	reasonJoin = "Join queries relate parent and child documents, and log lines have no joins."
	reasonSpan = "Span and intervals queries match token positions, which Loki does not index."
	reasonRank = "Rank and distance feature queries score documents by a field; the documents " +
		"they match depend on field types that LogQL does not know."
	reasonVector = "Vector and semantic queries rank documents by model embeddings, which logs do not carry."
)

// unsupportedReasons gives the reason for each known query type that LogQL
// cannot express.
var unsupportedReasons = map[string]string{
	"script":             "A script query runs Painless code against each document, which LogQL cannot evaluate.",
	"geo_distance":       reasonGeo,
	"geo_bounding_box":   reasonGeo,
	"geo_polygon":        reasonGeo,
	"geo_shape":          reasonGeo,
	"geo_grid":           reasonGeo,
	"shape":              "A shape query compares Cartesian geometries, which LogQL cannot compute.",
	"more_like_this":     "more_like_this selects documents by the term statistics of the index, which Loki does not keep.",
	"has_child":          reasonJoin,
	"has_parent":         reasonJoin,
	"parent_id":          reasonJoin,
	"percolate":          "A percolate query matches stored queries against a document, not documents against a query.",
	"intervals":          reasonSpan,
	"span_containing":    reasonSpan,
	"span_field_masking": reasonSpan,
	"field_masking_span": reasonSpan,
	"span_first":         reasonSpan,
	"span_multi":         reasonSpan,
	"span_near":          reasonSpan,
	"span_not":           reasonSpan,
	"span_or":            reasonSpan,
	"span_term":          reasonSpan,
	"span_within":        reasonSpan,
	"distance_feature":   reasonRank,
	"rank_feature":       reasonRank,
	"wrapper":            "A wrapper query holds another query encoded in base64; decode it and translate that query instead.",
	"pinned":             "A pinned query promotes chosen documents above the others, an ordering that LogQL does not have.",
	"knn":                reasonVector,
	"semantic":           reasonVector,
	"sparse_vector":      reasonVector,
	"text_expansion":     reasonVector,
	"weighted_tokens":    reasonVector,
	"combined_fields": "combined_fields matches the words across several fields as if they were one, " +
		"with scoring that LogQL cannot reproduce.",
	"match_bool_prefix": "A match_bool_prefix query treats its last word as a prefix over analysed tokens, " +
		"which the translation cannot express.",
	"terms_set": "A terms_set query needs a number of matching terms read from a field or a script per document.",
	"rule":      "A rule query applies query rules stored in Elasticsearch, which the translation cannot read.",
	"common":    "The common terms query splits words by their frequency in the index, which Loki does not keep.",
	"type":      "The type query filters on mapping types, which Elasticsearch 7 removed and logs do not have.",
}

// unsupported returns the Unsupported node for a query LogQL cannot
// express, or for an unknown query name. A known name whose body is not an
// object is an error, as it is in Elasticsearch.
func (p *parser) unsupported(q query) (ast.Node, error) {
	reason, known := unsupportedReasons[q.name]
	switch {
	case known:
		if err := p.object(q); err != nil {
			return nil, err
		}
	case strings.HasPrefix(q.name, "geo_"):
		reason = reasonGeo
	case strings.HasPrefix(q.name, "span_"):
		reason = reasonSpan
	default:
		reason = "The translator does not know the query type " + q.name + "; it was kept for review."
	}
	return ast.Unsupported{Kind: q.name, Text: p.rawText(q), Reason: reason}, nil
}
