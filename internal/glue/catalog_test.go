package glue

import (
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	"github.com/aws/aws-sdk-go-v2/service/glue/types"
)

func TestCatalog(t *testing.T) {
	e := newEnv(t)
	c := e.client
	if _, err := c.CreateDatabase(ctx(t), &glue.CreateDatabaseInput{DatabaseInput: &types.DatabaseInput{Name: aws.String("Sales"),
		Description: aws.String("d")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateDatabase(ctx(t), &glue.CreateDatabaseInput{DatabaseInput: &types.DatabaseInput{Name: aws.String("sales")}}); apiCode(err) != "AlreadyExistsException" {
		t.Fatalf("duplicate database: %v", err)
	}
	db, err := c.GetDatabase(ctx(t), &glue.GetDatabaseInput{Name: aws.String("SALES")})
	if err != nil || aws.ToString(db.Database.Name) != "sales" || aws.ToString(db.Database.Description) != "d" || db.Database.CreateTime == nil {
		t.Fatalf("GetDatabase = %+v, %v", db, err)
	}
	if _, err := c.GetDatabase(ctx(t), &glue.GetDatabaseInput{Name: aws.String("nope")}); apiCode(err) != "EntityNotFoundException" {
		t.Fatalf("missing database: %v", err)
	}
	if _, err := c.GetTable(ctx(t), &glue.GetTableInput{DatabaseName: aws.String("nope"), Name: aws.String("t")}); apiCode(err) != "EntityNotFoundException" {
		t.Fatalf("table of a missing database: %v", err)
	}
	for _, n := range []string{"orders", "Orders_2024", "customers", "items"} {
		_, err := c.CreateTable(ctx(t), &glue.CreateTableInput{DatabaseName: aws.String("sales"), TableInput: &types.TableInput{
			Name: aws.String(n), TableType: aws.String("EXTERNAL_TABLE"),
			PartitionKeys: []types.Column{{Name: aws.String("dt"), Type: aws.String("string")}},
			StorageDescriptor: &types.StorageDescriptor{Location: aws.String("s3://b/" + n + "/"),
				Columns: []types.Column{{Name: aws.String("id"), Type: aws.String("bigint")}}},
		}})
		if err != nil {
			t.Fatalf("CreateTable %s: %v", n, err)
		}
	}
	if _, err := c.CreateTable(ctx(t), &glue.CreateTableInput{DatabaseName: aws.String("sales"), TableInput: &types.TableInput{Name: aws.String("orders")}}); apiCode(err) != "AlreadyExistsException" {
		t.Fatalf("duplicate table: %v", err)
	}
	if _, err := c.CreateTable(ctx(t), &glue.CreateTableInput{DatabaseName: aws.String("nope"), TableInput: &types.TableInput{Name: aws.String("x")}}); apiCode(err) != "EntityNotFoundException" {
		t.Fatalf("table in a missing database: %v", err)
	}
	// Paging, two at a time, and a pattern.
	var names []string
	p := glue.NewGetTablesPaginator(c, &glue.GetTablesInput{DatabaseName: aws.String("sales"), MaxResults: aws.Int32(2)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		for _, tb := range out.TableList {
			names = append(names, aws.ToString(tb.Name))
		}
	}
	if !slices.Equal(names, []string{"customers", "items", "orders", "orders_2024"}) {
		t.Fatalf("tables = %v", names)
	}
	out, err := c.GetTables(ctx(t), &glue.GetTablesInput{DatabaseName: aws.String("sales"), Expression: aws.String("ORDERS*")})
	if err != nil || len(out.TableList) != 2 {
		t.Fatalf("GetTables orders* = %d tables, %v", len(out.TableList), err)
	}
	// UpdateTable replaces the definition and keeps the creation time.
	before, _ := c.GetTable(ctx(t), &glue.GetTableInput{DatabaseName: aws.String("sales"), Name: aws.String("orders")})
	if _, err := c.UpdateTable(ctx(t), &glue.UpdateTableInput{DatabaseName: aws.String("sales"), TableInput: &types.TableInput{
		Name: aws.String("orders"), PartitionKeys: []types.Column{{Name: aws.String("dt"), Type: aws.String("string")}},
		Parameters: map[string]string{"classification": "csv"}}}); err != nil {
		t.Fatal(err)
	}
	after, err := c.GetTable(ctx(t), &glue.GetTableInput{DatabaseName: aws.String("sales"), Name: aws.String("orders")})
	if err != nil || after.Table.Parameters["classification"] != "csv" || !after.Table.CreateTime.Equal(*before.Table.CreateTime) {
		t.Fatalf("after UpdateTable: %+v, %v", after, err)
	}
	// Partitions.
	var inputs []types.PartitionInput
	for _, dt := range []string{"2024-01-02", "2024-01-01", "2024-01-03"} {
		inputs = append(inputs, types.PartitionInput{Values: []string{dt}, StorageDescriptor: &types.StorageDescriptor{Location: aws.String("s3://b/orders/dt=" + dt + "/")}})
	}
	inputs = append(inputs, types.PartitionInput{Values: []string{"a", "b"}})
	bc, err := c.BatchCreatePartition(ctx(t), &glue.BatchCreatePartitionInput{DatabaseName: aws.String("sales"), TableName: aws.String("orders"), PartitionInputList: inputs})
	if err != nil || len(bc.Errors) != 1 || aws.ToString(bc.Errors[0].ErrorDetail.ErrorCode) != "InvalidInputException" {
		t.Fatalf("BatchCreatePartition = %+v, %v", bc, err)
	}
	bc, err = c.BatchCreatePartition(ctx(t), &glue.BatchCreatePartitionInput{DatabaseName: aws.String("sales"), TableName: aws.String("orders"), PartitionInputList: inputs[:1]})
	if err != nil || len(bc.Errors) != 1 || aws.ToString(bc.Errors[0].ErrorDetail.ErrorCode) != "AlreadyExistsException" {
		t.Fatalf("second BatchCreatePartition = %+v, %v", bc, err)
	}
	gp, err := c.GetPartitions(ctx(t), &glue.GetPartitionsInput{DatabaseName: aws.String("sales"), TableName: aws.String("orders")})
	if err != nil || len(gp.Partitions) != 3 || gp.Partitions[0].Values[0] != "2024-01-01" {
		t.Fatalf("GetPartitions = %+v, %v", gp, err)
	}
	gp, err = c.GetPartitions(ctx(t), &glue.GetPartitionsInput{DatabaseName: aws.String("sales"), TableName: aws.String("orders"),
		Expression: aws.String("dt >= '2024-01-02' AND dt <> '2024-01-03'")})
	if err != nil || len(gp.Partitions) != 1 || gp.Partitions[0].Values[0] != "2024-01-02" {
		t.Fatalf("GetPartitions with an expression = %+v, %v", gp, err)
	}
	if _, err := c.GetPartitions(ctx(t), &glue.GetPartitionsInput{DatabaseName: aws.String("sales"), TableName: aws.String("orders"),
		Expression: aws.String("nope = 1")}); apiCode(err) != "InvalidInputException" {
		t.Fatalf("expression on an unknown key: %v", err)
	}
	one, err := c.GetPartition(ctx(t), &glue.GetPartitionInput{DatabaseName: aws.String("sales"), TableName: aws.String("orders"), PartitionValues: []string{"2024-01-03"}})
	if err != nil || aws.ToString(one.Partition.StorageDescriptor.Location) != "s3://b/orders/dt=2024-01-03/" {
		t.Fatalf("GetPartition = %+v, %v", one, err)
	}
	if _, err := c.GetPartition(ctx(t), &glue.GetPartitionInput{DatabaseName: aws.String("sales"), TableName: aws.String("orders"), PartitionValues: []string{"x"}}); apiCode(err) != "EntityNotFoundException" {
		t.Fatalf("missing partition: %v", err)
	}
	// DeleteTable takes its partitions; DeleteDatabase its tables.
	if _, err := c.DeleteTable(ctx(t), &glue.DeleteTableInput{DatabaseName: aws.String("sales"), Name: aws.String("orders")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteTable(ctx(t), &glue.DeleteTableInput{DatabaseName: aws.String("sales"), Name: aws.String("orders")}); apiCode(err) != "EntityNotFoundException" {
		t.Fatalf("second DeleteTable: %v", err)
	}
	if _, err := c.CreateTable(ctx(t), &glue.CreateTableInput{DatabaseName: aws.String("sales"), TableInput: &types.TableInput{Name: aws.String("orders"),
		PartitionKeys: []types.Column{{Name: aws.String("dt"), Type: aws.String("string")}}}}); err != nil {
		t.Fatal(err)
	}
	if gp, err = c.GetPartitions(ctx(t), &glue.GetPartitionsInput{DatabaseName: aws.String("sales"), TableName: aws.String("orders")}); err != nil || len(gp.Partitions) != 0 {
		t.Fatalf("partitions of a re-created table: %+v, %v", gp, err)
	}
	if _, err := c.DeleteDatabase(ctx(t), &glue.DeleteDatabaseInput{Name: aws.String("sales")}); err != nil {
		t.Fatal(err)
	}
	dbs, err := c.GetDatabases(ctx(t), &glue.GetDatabasesInput{})
	if err != nil || len(dbs.DatabaseList) != 0 {
		t.Fatalf("GetDatabases after delete = %+v, %v", dbs, err)
	}
	if _, err := c.CreateDatabase(ctx(t), &glue.CreateDatabaseInput{DatabaseInput: &types.DatabaseInput{Name: aws.String("sales")}}); err != nil {
		t.Fatal(err)
	}
	if out, err := c.GetTables(ctx(t), &glue.GetTablesInput{DatabaseName: aws.String("sales")}); err != nil || len(out.TableList) != 0 {
		t.Fatalf("tables of a re-created database: %d, %v", len(out.TableList), err)
	}
}

func TestCall(t *testing.T) {
	e := newEnv(t)
	if _, err := e.svc.Call(ctx(t), "CreateDatabase", []byte(`{"DatabaseInput":{"Name":"d"}}`)); err != nil {
		t.Fatal(err)
	}
	out, err := e.svc.Call(ctx(t), "GetDatabase", []byte(`{"Name":"d"}`))
	if err != nil || !strings.Contains(string(out), `"Name":"d"`) {
		t.Fatalf("GetDatabase = %s, %v", out, err)
	}
	for _, c := range []struct{ action, in, code string }{
		{"NoSuchAction", `{}`, "UnknownOperationException"},
		{"GetDatabase", `{"Name":"x"}`, "EntityNotFoundException"},
		{"GetDatabase", `{"Name":`, "InvalidInputException"},
		{"GetTables", `{"DatabaseName":"d","MaxResults":5000}`, "InvalidInputException"},
	} {
		_, err := e.svc.Call(ctx(t), c.action, []byte(c.in))
		if ge, ok := err.(*Error); !ok || ge.Code != c.code || ge.Status != 400 {
			t.Errorf("%s %s: %v, want %s", c.action, c.in, err, c.code)
		}
	}
}
