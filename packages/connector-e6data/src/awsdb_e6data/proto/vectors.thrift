// Source of truth for the columnar result batch ("Chunk") carried in
// GetNextResultBatchResponse.resultBatch, encoded with TBinaryProtocol as a bare struct.
// The connector decodes it with a hand-written reader (awsdb_e6data._chunk) and the test
// engine encodes it with a hand-written writer (awsdb_e6data.engine._encode); no Thrift
// code is generated from this file.
namespace java io.e6x.query.engine.vectors
namespace py awsdb_e6data.vectors

enum VectorType {
  BINARY = 0,
  BOOLEAN = 1,
  DOUBLE = 2,
  FLOAT = 3,
  INT96 = 4,
  INTEGER = 5,
  LONG = 6,
  STRING = 7,
  DATE = 8,
  DATETIME = 9,
  TIMESTAMP = 10,
  STRUCT = 11,
  MAP = 12,
  ARRAY = 13,
  NULL = 14,
  TIMESTAMP_TZ = 15,
  DECIMAL128 = 16,
  INTERVAL_DAY_SECOND = 17,
}

struct BoolData { 1: list<bool> data }
struct Int32Data { 1: list<i32> data }
struct Int64Data { 1: list<i64> data }
// epoch microseconds, UTC midnight
struct DateData { 1: list<i64> data }
// yes, doubles
struct Float32Data { 1: list<double> data }
struct Float64Data { 1: list<double> data }
struct VarcharData { 1: list<string> data }
// epoch microseconds; zoneData: "+05:30", "Z" or an IANA id per row
struct TimeData { 1: list<i64> data, 2: optional list<string> zoneData }
// 16-byte big-endian two's complement unscaled values
struct Decimal128Data { 1: list<binary> data, 2: i32 scale }
struct BoolConstantData { 1: bool data }
struct DateConstantData { 1: i64 data }
struct NullConstantData { 1: byte data }
struct NumericConstantData { 1: i64 data }
struct NumericDecimalConstantData { 1: double data }
struct NumericDecimal128ConstantData { 1: binary data, 2: i32 scale }
struct TemporalIntervalConstantData { 1: byte data }
struct TimeConstantData { 1: i64 data, 2: optional string zoneData }
struct VarcharConstantData { 1: string data }

union Data {
  1: BoolData boolData,
  2: Int32Data int32Data,
  3: Int64Data int64Data,
  4: DateData dateData,
  5: Float32Data float32Data,
  6: Float64Data float64Data,
  7: VarcharData varcharData,
  8: BoolConstantData boolConstantData,
  9: DateConstantData dateConstantData,
  10: NullConstantData nullConstantData,
  11: NumericConstantData numericConstantData,
  12: NumericDecimalConstantData numericDecimalConstantData,
  13: TemporalIntervalConstantData temporalIntervalConstantData,
  14: TimeConstantData timeConstantData,
  15: VarcharConstantData varcharConstantData,
  16: TimeData timeData,
  17: Decimal128Data decimal128Data,
  18: NumericDecimal128ConstantData numericDecimal128ConstantData,
}

struct Vector {
  1: i32 size,
  2: VectorType vectorType,
  3: list<bool> nullSet,
  4: Data data,
  5: bool isConstantVector,
  6: optional string zoneOffset,
  7: optional string format,
}

struct Chunk {
  1: i32 size,
  2: list<Vector> vectors,
}
