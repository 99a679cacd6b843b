package itemreader

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
)

type pqAddr struct {
	City string `parquet:"city"`
	Zip  *int32 `parquet:"zip,optional"`
}

type pqLine struct {
	SKU  string   `parquet:"sku"`
	Qty  int32    `parquet:"qty"`
	Tags []string `parquet:"tags,list"`
}

type pqOrder struct {
	ID    int64            `parquet:"id"`
	At    time.Time        `parquet:"at,timestamp(microsecond)"`
	Day   int32            `parquet:"day,date"`
	Price int64            `parquet:"price,decimal(2:10)"`
	Lines []pqLine         `parquet:"lines,list"`
	Addr  *pqAddr          `parquet:"addr,optional"`
	Attrs map[string]int32 `parquet:"attrs"`
	Note  *string          `parquet:"note,optional"`
	Raw   []int32          `parquet:"raw"`
	U     [16]byte         `parquet:"u,uuid"`
}

// TestParquetNestedAndLogicalTypes reads rows of nested groups, LISTs (of groups holding a
// LIST), a MAP, a legacy repeated field and optional fields, with logical types: the items
// keep the schema's shape and order, and typed values (epoch milliseconds, decimals, dates,
// UUIDs); empty lists stay empty and missing optional fields are null.
func TestParquetNestedAndLogicalTypes(t *testing.T) {
	zip, note := int32(75001), "rush"
	rows := []pqOrder{
		{ID: 1, At: time.Date(2026, 12, 6, 10, 0, 0, 123456000, time.UTC), Day: 20428, Price: -1205,
			Lines: []pqLine{{SKU: "a", Qty: 2, Tags: []string{"x", "y"}}, {SKU: "b", Qty: 1}},
			Addr:  &pqAddr{City: "Paris", Zip: &zip}, Attrs: map[string]int32{"gift": 1}, Note: &note, Raw: []int32{7, 8},
			U: [16]byte{0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0}},
		{ID: 2, At: time.Unix(0, 0).UTC(), Price: 5, Addr: &pqAddr{City: "Lyon"}},
		{ID: 3, At: time.Unix(0, 0).UTC(), Price: 0},
	}
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[pqOrder](&buf)
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	objs := memObjects{"b/orders.parquet": buf.Bytes()}
	c, err := Read(context.Background(), objs, Spec{Resource: ResourceGetObject, Bucket: "b", Key: "orders.parquet", InputType: "PARQUET"}, Cursor{}, Limits{Items: 10})
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"id":1,"at":1796551200123,"day":"2025-12-06","price":-12.05,` +
		`"lines":[{"sku":"a","qty":2,"tags":["x","y"]},{"sku":"b","qty":1,"tags":[]}],` +
		`"addr":{"city":"Paris","zip":75001},"attrs":{"gift":1},"note":"rush","raw":[7,8],"u":"12345678-9abc-def0-1234-56789abcdef0"},` +
		`{"id":2,"at":0,"day":"1970-01-01","price":0.05,"lines":[],"addr":{"city":"Lyon","zip":null},"attrs":{},"note":null,"raw":[],"u":"00000000-0000-0000-0000-000000000000"},` +
		`{"id":3,"at":0,"day":"1970-01-01","price":0.00,"lines":[],"addr":null,"attrs":{},"note":null,"raw":[],"u":"00000000-0000-0000-0000-000000000000"}]`
	if got := string(c.Items); got != want || !c.Done {
		t.Fatalf("items (done %t)\n got %s\nwant %s", c.Done, got, want)
	}
}

// FuzzRead reads an object of any bytes in each input type: a reader answers items or an
// error (States.ItemReaderFailed), and never panics.
func FuzzRead(f *testing.F) {
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[pqOrder](&buf)
	zip := int32(1)
	if _, err := w.Write([]pqOrder{{ID: 1, Lines: []pqLine{{SKU: "a", Tags: []string{"x"}}}, Addr: &pqAddr{Zip: &zip}, Attrs: map[string]int32{"k": 1}}}); err != nil {
		f.Fatal(err)
	}
	if err := w.Close(); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add([]byte("a,b\n1,2\n\"x\",\"y\"\"\n"))
	f.Add([]byte(`[{"a":1},{"b":[2]}]`))
	f.Add([]byte("{\"a\":1}\n{\"b\":2}\n"))
	f.Add([]byte(`{"sourceBucket":"b","destinationBucket":"arn:aws:s3:::b","fileFormat":"CSV","fileSchema":"Bucket, Key","files":[{"key":"x"}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		objs := memObjects{"b/x": body}
		for _, typ := range []string{"CSV", "JSON", "JSONL", "PARQUET", "MANIFEST"} {
			s := Spec{Resource: ResourceGetObject, Bucket: "b", Key: "x", InputType: typ}
			cur := Cursor{}
			for range 20 {
				c, err := Read(context.Background(), objs, s, cur, Limits{Items: 3})
				if err != nil || c.Done {
					break
				}
				cur = c.Next
			}
		}
	})
}
