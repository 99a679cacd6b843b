// Command mkparquet writes a small Parquet file of typed rows (bigint, double, string, boolean,
// timestamp, a list and a struct) for the end-to-end crawler checks (scripts/e2e_glue.py): the
// machine's Python has no Parquet writer, so the file is made at test time with the module's
// own Parquet library rather than kept in git.
//
//	go run ./internal/glue/testdata/mkparquet OUT.parquet [ROWS]
package main

import (
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/parquet-go/parquet-go"
)

type address struct {
	City string `parquet:"city"`
	Zip  int64  `parquet:"zip"`
}

type row struct {
	ID       int64     `parquet:"id"`
	Name     string    `parquet:"name"`
	Amount   float64   `parquet:"amount"`
	Paid     bool      `parquet:"paid"`
	Ordered  time.Time `parquet:"ordered_at,timestamp(millisecond)"`
	Tags     []string  `parquet:"tags,list"`
	Shipping address   `parquet:"shipping"`
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: mkparquet OUT.parquet [ROWS]")
		os.Exit(2)
	}
	n := 100
	if len(os.Args) > 2 {
		v, err := strconv.Atoi(os.Args[2])
		if err != nil || v < 1 {
			fmt.Fprintln(os.Stderr, "mkparquet: ROWS must be a positive number")
			os.Exit(2)
		}
		n = v
	}
	if err := write(os.Args[1], n); err != nil {
		fmt.Fprintln(os.Stderr, "mkparquet:", err)
		os.Exit(1)
	}
}

func write(path string, n int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := parquet.NewGenericWriter[row](f)
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	rows := make([]row, n)
	for i := range rows {
		rows[i] = row{ID: int64(i), Name: fmt.Sprint("customer ", i), Amount: float64(i) * 1.25, Paid: i%2 == 0,
			Ordered: base.Add(time.Duration(i) * time.Hour), Tags: []string{"a", "b"}, Shipping: address{City: "Lyon", Zip: 69000 + int64(i)}}
	}
	if _, err := w.Write(rows); err != nil {
		f.Close()
		return err
	}
	if err := w.Close(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
