package asl

// typeSet is a set of state types.
type typeSet uint16

func typesOf(ts ...StateType) typeSet {
	var s typeSet
	for _, t := range ts {
		s |= 1 << t
	}
	return s
}

func (s typeSet) has(t StateType) bool { return s&(1<<t) != 0 }

// langUse says in which query language a field is allowed.
type langUse uint8

const (
	anyLang langUse = iota
	pathOnly
	jsonataOnly
)

type fieldRule struct {
	types typeSet
	lang  langUse
}

var (
	allTypes    = typesOf(Pass, Task, Choice, Wait, Succeed, Fail, Parallel, Map)
	flowTypes   = typesOf(Pass, Task, Wait, Parallel, Map)                  // have Next/End
	ioTypes     = typesOf(Pass, Task, Choice, Wait, Succeed, Parallel, Map) // have InputPath/OutputPath/Output
	resultTypes = typesOf(Pass, Task, Parallel, Map)                        // have ResultPath/Parameters
	workTypes   = typesOf(Task, Parallel, Map)                              // have ResultSelector/Retry/Catch
)

// stateFields lists every field a state may have, with the types and language that allow it.
var stateFields = map[string]fieldRule{
	"Type":           {allTypes, anyLang},
	"Comment":        {allTypes, anyLang},
	"QueryLanguage":  {allTypes, anyLang},
	"Next":           {flowTypes, anyLang},
	"End":            {flowTypes, anyLang},
	"Assign":         {typesOf(Pass, Task, Choice, Wait, Parallel, Map), anyLang},
	"InputPath":      {ioTypes, pathOnly},
	"OutputPath":     {ioTypes, pathOnly},
	"Output":         {ioTypes, jsonataOnly},
	"Parameters":     {resultTypes, pathOnly},
	"ResultPath":     {resultTypes, pathOnly},
	"Arguments":      {typesOf(Task, Parallel), jsonataOnly},
	"ResultSelector": {workTypes, pathOnly},
	"Retry":          {workTypes, anyLang},
	"Catch":          {workTypes, anyLang},
	"Result":         {typesOf(Pass), pathOnly},

	"Resource":             {typesOf(Task), anyLang},
	"TimeoutSeconds":       {typesOf(Task), anyLang},
	"TimeoutSecondsPath":   {typesOf(Task), pathOnly},
	"HeartbeatSeconds":     {typesOf(Task), anyLang},
	"HeartbeatSecondsPath": {typesOf(Task), pathOnly},
	"Credentials":          {typesOf(Task), anyLang},

	"Choices": {typesOf(Choice), anyLang},
	"Default": {typesOf(Choice), anyLang},

	"Seconds":       {typesOf(Wait), anyLang},
	"SecondsPath":   {typesOf(Wait), pathOnly},
	"Timestamp":     {typesOf(Wait), anyLang},
	"TimestampPath": {typesOf(Wait), pathOnly},

	"Error":     {typesOf(Fail), anyLang},
	"ErrorPath": {typesOf(Fail), pathOnly},
	"Cause":     {typesOf(Fail), anyLang},
	"CausePath": {typesOf(Fail), pathOnly},

	"Branches": {typesOf(Parallel), anyLang},

	"ItemProcessor":                  {typesOf(Map), anyLang},
	"Iterator":                       {typesOf(Map), anyLang},
	"ItemsPath":                      {typesOf(Map), pathOnly},
	"Items":                          {typesOf(Map), jsonataOnly},
	"ItemSelector":                   {typesOf(Map), anyLang},
	"MaxConcurrency":                 {typesOf(Map), anyLang},
	"MaxConcurrencyPath":             {typesOf(Map), pathOnly},
	"ItemReader":                     {typesOf(Map), anyLang},
	"ItemBatcher":                    {typesOf(Map), anyLang},
	"ResultWriter":                   {typesOf(Map), anyLang},
	"ToleratedFailureCount":          {typesOf(Map), anyLang},
	"ToleratedFailureCountPath":      {typesOf(Map), pathOnly},
	"ToleratedFailurePercentage":     {typesOf(Map), anyLang},
	"ToleratedFailurePercentagePath": {typesOf(Map), pathOnly},
	"Label":                          {typesOf(Map), anyLang},
}

// stateTypeNames in the order AWS lists them in its message for an unknown Type.
var typeNamesInAWSOrder = []string{"Task", "Wait", "Pass", "Succeed", "Fail", "Choice", "Parallel", "Map"}

func stateTypeByName(name string) (StateType, bool) {
	for i, n := range stateTypeNames {
		if n == name {
			return StateType(i), true
		}
	}
	return 0, false
}

// choiceOperators maps each comparison operator to its kind of operand.
var choiceOperators = map[string]struct {
	op      Operator
	operand operandKind
	isPath  bool
}{
	"StringEquals":                   {OpStringEquals, operandString, false},
	"StringEqualsPath":               {OpStringEquals, operandString, true},
	"StringLessThan":                 {OpStringLessThan, operandString, false},
	"StringLessThanPath":             {OpStringLessThan, operandString, true},
	"StringGreaterThan":              {OpStringGreaterThan, operandString, false},
	"StringGreaterThanPath":          {OpStringGreaterThan, operandString, true},
	"StringLessThanEquals":           {OpStringLessThanEquals, operandString, false},
	"StringLessThanEqualsPath":       {OpStringLessThanEquals, operandString, true},
	"StringGreaterThanEquals":        {OpStringGreaterThanEquals, operandString, false},
	"StringGreaterThanEqualsPath":    {OpStringGreaterThanEquals, operandString, true},
	"StringMatches":                  {OpStringMatches, operandString, false},
	"NumericEquals":                  {OpNumericEquals, operandNumber, false},
	"NumericEqualsPath":              {OpNumericEquals, operandNumber, true},
	"NumericLessThan":                {OpNumericLessThan, operandNumber, false},
	"NumericLessThanPath":            {OpNumericLessThan, operandNumber, true},
	"NumericGreaterThan":             {OpNumericGreaterThan, operandNumber, false},
	"NumericGreaterThanPath":         {OpNumericGreaterThan, operandNumber, true},
	"NumericLessThanEquals":          {OpNumericLessThanEquals, operandNumber, false},
	"NumericLessThanEqualsPath":      {OpNumericLessThanEquals, operandNumber, true},
	"NumericGreaterThanEquals":       {OpNumericGreaterThanEquals, operandNumber, false},
	"NumericGreaterThanEqualsPath":   {OpNumericGreaterThanEquals, operandNumber, true},
	"BooleanEquals":                  {OpBooleanEquals, operandBoolean, false},
	"BooleanEqualsPath":              {OpBooleanEquals, operandBoolean, true},
	"TimestampEquals":                {OpTimestampEquals, operandTimestamp, false},
	"TimestampEqualsPath":            {OpTimestampEquals, operandTimestamp, true},
	"TimestampLessThan":              {OpTimestampLessThan, operandTimestamp, false},
	"TimestampLessThanPath":          {OpTimestampLessThan, operandTimestamp, true},
	"TimestampGreaterThan":           {OpTimestampGreaterThan, operandTimestamp, false},
	"TimestampGreaterThanPath":       {OpTimestampGreaterThan, operandTimestamp, true},
	"TimestampLessThanEquals":        {OpTimestampLessThanEquals, operandTimestamp, false},
	"TimestampLessThanEqualsPath":    {OpTimestampLessThanEquals, operandTimestamp, true},
	"TimestampGreaterThanEquals":     {OpTimestampGreaterThanEquals, operandTimestamp, false},
	"TimestampGreaterThanEqualsPath": {OpTimestampGreaterThanEquals, operandTimestamp, true},
	"IsNull":                         {OpIsNull, operandBoolean, false},
	"IsPresent":                      {OpIsPresent, operandBoolean, false},
	"IsNumeric":                      {OpIsNumeric, operandBoolean, false},
	"IsString":                       {OpIsString, operandBoolean, false},
	"IsBoolean":                      {OpIsBoolean, operandBoolean, false},
	"IsTimestamp":                    {OpIsTimestamp, operandBoolean, false},
}

type operandKind uint8

const (
	operandString operandKind = iota
	operandNumber
	operandBoolean
	operandTimestamp
)
