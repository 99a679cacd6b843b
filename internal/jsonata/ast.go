package jsonata

// nodeType enumerates the node kinds of both the raw parse tree and the processed tree the
// evaluator runs (binary '.', '[' and similar only exist before processing).
type nodeType uint8

const (
	nPath nodeType = iota
	nBinary
	nUnary // '-' negation, '[' array constructor, '{' object constructor
	nName
	nString
	nNumber
	nValue // true, false, null
	nWildcard
	nDescendant
	nParent
	nCondition
	nCoalesce // a ?? b
	nElvis    // a ?: b
	nBlock
	nBind
	nRegex
	nFunction
	nPartial
	nPlaceholder // the ? argument of a partial application
	nVariable
	nLambda
	nApply
	nSort
	nTransform
	nOperator // keyword operators (and, or, in) used in name position; 'end' token
	nEnd
)

var nodeTypeNames = map[nodeType]string{
	nPath: "path", nBinary: "binary", nUnary: "unary", nName: "name", nString: "string",
	nNumber: "number", nValue: "value", nWildcard: "wildcard", nDescendant: "descendant",
	nParent: "parent", nCondition: "condition", nCoalesce: "condition", nElvis: "condition",
	nBlock: "block", nBind: "bind", nRegex: "regex", nFunction: "function", nPartial: "partial",
	nPlaceholder: "operator", nVariable: "variable", nLambda: "lambda", nApply: "apply",
	nSort: "sort", nTransform: "transform", nOperator: "operator", nEnd: "end",
}

// node is a syntax tree node. One struct serves every kind, as the reference's plain objects
// do, because the post-parse pass annotates nodes of many kinds with the same properties.
type node struct {
	typ   nodeType
	pos   int    // byte offset just past the token
	value string // operator, name, variable name or string literal text
	num   float64
	lit   any // literal value of nValue nodes

	lhs, rhs *node
	expr     *node      // operand of unary minus
	exprs    []*node    // block expressions, array constructor items
	pairs    [][2]*node // object constructor
	steps    []*node    // path steps

	// function calls and lambdas
	proc   *node
	args   []*node
	params []string
	sig    *signature
	body   *node
	thunk  bool

	cond, then, els      *node
	pattern, update, del *node
	terms                []sortTerm
	re                   *regexLiteral

	// annotations added by the post-parse pass
	predicate          []*stage // filters applied after evaluating a non-step node
	stages             []*stage // filters and index bindings applied within a path step
	group              *groupBy
	keepArray          bool
	keepSingletonArray bool
	consarray          bool
	tuple              bool
	focus              string
	index              string
	ancestor           *slot
	seekingParent      []*slot
	seeking            bool // seekingParent has been set (even to an empty list)
	slot               *slot
	needsFrame         bool // a block that binds variables needs its own scope
	simpleName         bool // a path of one plain field name
}

type sortTerm struct {
	descending bool
	expr       *node
}

type stageType uint8

const (
	stageFilter stageType = iota
	stageIndex
)

type stage struct {
	typ   stageType
	expr  *node
	value string // index variable name
	pos   int
}

type groupBy struct {
	pairs [][2]*node
	pos   int
}

// slot names the ancestor a parent operator (%) refers to; the label is the variable the tuple
// stream binds that ancestor to.
type slot struct {
	label string
	level int
	index int
}
