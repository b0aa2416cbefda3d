package session

import (
	"sort"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sqld/sqld/exec"
	"github.com/sqld/sqld/sql/ast"
	"github.com/sqld/sqld/sql/pgerror"
)

// ServerVersion is reported as server_version; clients adapt their
// catalog queries to it, so it names the Postgres release whose behaviour
// sqld follows.
const ServerVersion = "15.0"

// settingDefaults holds every session setting sqld knows, lower-case, with
// its default value.
var settingDefaults = map[string]string{
	"server_version":                      ServerVersion,
	"server_version_num":                  "150000",
	"server_encoding":                     "UTF8",
	"client_encoding":                     "UTF8",
	"datestyle":                           "ISO, MDY",
	"timezone":                            "UTC",
	"intervalstyle":                       "postgres",
	"integer_datetimes":                   "on",
	"standard_conforming_strings":         "on",
	"is_superuser":                        "on",
	"session_authorization":               "",
	"application_name":                    "",
	"extra_float_digits":                  "1",
	"search_path":                         `"$user", public`,
	"statement_timeout":                   "0",
	"lock_timeout":                        "0",
	"idle_in_transaction_session_timeout": "0",
	"client_min_messages":                 "notice",
	"bytea_output":                        "hex",
	"transaction_isolation":               "read committed",
	"default_transaction_isolation":       "read committed",
	"transaction_read_only":               "off",
	"default_transaction_read_only":       "off",
	"max_identifier_length":               "63",
	"synchronous_commit":                  "on",
	"escape_string_warning":               "on",
	"row_security":                        "on",
	"jit":                                 "off",
	"work_mem":                            "4MB",
	"statement_mem":                       "0",
	"enable_seqscan":                      "on",
	"geqo":                                "on",
	"lc_messages":                         "C",
	"lc_monetary":                         "C",
	"lc_numeric":                          "C",
	"lc_time":                             "C",
	"implicit_flush":                      "off",
	"streaming_parallelism":               "0",
	"query_mode":                          "auto",
}

// settingAliases maps other spellings to the canonical name.
var settingAliases = map[string]string{
	"rw_implicit_flush":           "implicit_flush",
	"time zone":                   "timezone",
	"time_zone":                   "timezone",
	"names":                       "client_encoding",
	"transaction isolation level": "transaction_isolation",
}

// settingNames are the display spellings of settings reported to clients.
var settingNames = map[string]string{
	"server_version":              "server_version",
	"server_encoding":             "server_encoding",
	"client_encoding":             "client_encoding",
	"datestyle":                   "DateStyle",
	"timezone":                    "TimeZone",
	"intervalstyle":               "IntervalStyle",
	"integer_datetimes":           "integer_datetimes",
	"standard_conforming_strings": "standard_conforming_strings",
	"is_superuser":                "is_superuser",
	"session_authorization":       "session_authorization",
	"application_name":            "application_name",
}

// reportedSettings are sent as ParameterStatus at startup and on change.
var reportedSettings = []string{
	"application_name", "client_encoding", "datestyle", "integer_datetimes", "intervalstyle",
	"is_superuser", "server_encoding", "server_version", "session_authorization",
	"standard_conforming_strings", "timezone",
}

func canonicalSetting(name string) string {
	name = strings.ToLower(name)
	if a, ok := settingAliases[name]; ok {
		return a
	}
	return name
}

func settingDisplayName(name string) string {
	name = canonicalSetting(name)
	if d, ok := settingNames[name]; ok {
		return d
	}
	return name
}

// setting returns the current value of a setting.
func (s *Session) setting(name string) (string, bool) {
	name = canonicalSetting(name)
	if name == "session_authorization" {
		return s.user, true
	}
	if name == "statement_mem" {
		// As the statements use it: 0 stands for the server's default.
		return exec.FormatBytes(s.statementMem()), true
	}
	if v, ok := s.settings[name]; ok {
		return v, true
	}
	v, ok := settingDefaults[name]
	return v, ok
}

func (s *Session) readOnlySetting(name string) bool {
	switch name {
	case "server_version", "server_version_num", "server_encoding", "integer_datetimes", "max_identifier_length", "is_superuser":
		return true
	}
	return false
}

func (s *Session) set(x *ast.Set) (string, []arrow.RecordBatch, error) {
	name := canonicalSetting(x.Name)
	if _, ok := settingDefaults[name]; !ok && !strings.Contains(name, ".") {
		return "", nil, pgerror.New(pgerror.CodeUndefinedObject, "unrecognized configuration parameter %q", x.Name)
	}
	if s.readOnlySetting(name) {
		return "", nil, pgerror.New(pgerror.CodeCantChangeRuntimeParam, "parameter %q cannot be changed", x.Name)
	}
	if x.Default {
		return s.reset(&ast.Reset{Name: name})
	}
	val := strings.Join(x.Values, ", ")
	switch name {
	case "timezone":
		if u := strings.ToUpper(val); u != "UTC" && u != "GMT" && u != "ZULU" && u != "UCT" && u != "ETC/UTC" && u != "0" && u != "+00" && u != "00:00" {
			return "", nil, pgerror.New(pgerror.CodeInvalidParameterValue, "invalid value for parameter \"TimeZone\": %q", val).WithHint("sqld runs sessions in UTC.")
		}
		val = "UTC"
	case "implicit_flush":
		b, ok := parseBoolSetting(val)
		if !ok {
			return "", nil, pgerror.New(pgerror.CodeInvalidParameterValue, "parameter %q requires a Boolean value", x.Name)
		}
		val = b
	case "client_encoding":
		if u := strings.ToUpper(strings.ReplaceAll(val, "-", "")); u != "UTF8" && u != "UNICODE" {
			return "", nil, pgerror.New(pgerror.CodeInvalidParameterValue, "invalid value for parameter \"client_encoding\": %q", val)
		}
		val = "UTF8"
	case "datestyle":
		if u := strings.ToUpper(val); !strings.Contains(u, "ISO") {
			return "", nil, pgerror.New(pgerror.CodeInvalidParameterValue, "invalid value for parameter \"DateStyle\": %q", val).WithHint("sqld prints dates in the ISO style only.")
		}
		val = "ISO, MDY"
	case "statement_mem":
		if err := checkMemorySetting(x.Name, val); err != nil {
			return "", nil, err
		}
	case "statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout":
		if _, err := parseTimeout(val); err != nil {
			return "", nil, pgerror.New(pgerror.CodeInvalidParameterValue, "invalid value for parameter %q: %q", x.Name, val)
		}
	}
	s.settings[name] = val
	s.noteChange(name)
	return "SET", nil, nil
}

func parseBoolSetting(v string) (string, bool) {
	switch strings.ToLower(strings.Trim(v, "'")) {
	case "on", "true", "yes", "1", "t", "y":
		return "on", true
	case "off", "false", "no", "0", "f", "n":
		return "off", true
	}
	return "", false
}

func (s *Session) noteChange(name string) {
	for _, r := range reportedSettings {
		if r == name {
			v, _ := s.setting(name)
			s.changed = append(s.changed, [2]string{settingNames[name], v})
		}
	}
}

func (s *Session) reset(x *ast.Reset) (string, []arrow.RecordBatch, error) {
	name := canonicalSetting(x.Name)
	if name == "all" {
		for k := range s.settings {
			delete(s.settings, k)
			s.noteChange(k)
		}
		return "RESET", nil, nil
	}
	if _, ok := settingDefaults[name]; !ok && !strings.Contains(name, ".") {
		return "", nil, pgerror.New(pgerror.CodeUndefinedObject, "unrecognized configuration parameter %q", x.Name)
	}
	delete(s.settings, name)
	s.noteChange(name)
	return "RESET", nil, nil
}

func (s *Session) show(x *ast.Show) (string, []arrow.RecordBatch, error) {
	name := canonicalSetting(x.Name)
	if name == "all" {
		names := make([]string, 0, len(settingDefaults))
		for k := range settingDefaults {
			names = append(names, k)
		}
		sort.Strings(names)
		rows := make([][]string, len(names))
		for i, n := range names {
			v, _ := s.setting(n)
			rows[i] = []string{n, v, ""}
		}
		return "SHOW", []arrow.RecordBatch{s.textBatch([]string{"name", "setting", "description"}, rows)}, nil
	}
	v, ok := s.setting(name)
	if !ok {
		return "", nil, pgerror.New(pgerror.CodeUndefinedObject, "unrecognized configuration parameter %q", x.Name)
	}
	return "SHOW", []arrow.RecordBatch{s.textBatch([]string{settingDisplayName(name)}, [][]string{{v}})}, nil
}

// implicitFlush reports whether writes wait for views to catch up.
func (s *Session) implicitFlush() bool {
	v, _ := s.setting("implicit_flush")
	return v == "on"
}
