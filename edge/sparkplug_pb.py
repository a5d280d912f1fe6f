"""The Sparkplug B payload (Eclipse Tahu's sparkplug_b.proto, package org.eclipse.tahu.protobuf), built
at import time from a descriptor instead of protoc-generated code.

Only the fields the edge reads are declared; the others (metadata, properties, dataset, template and
extension values, the payload's extensions) are skipped by protobuf as unknown fields, so a metric
carrying one of them decodes with no value (see edge/sparkplug.py). Field numbers and types are the
.proto's; proto2, as the .proto is, so `HasField` tells an absent field from a zero.

    message Payload {
      message Metric {
        optional string name = 1;  optional uint64 alias = 2;  optional uint64 timestamp = 3;
        optional uint32 datatype = 4;  optional bool is_historical = 5;  optional bool is_transient = 6;
        optional bool is_null = 7;
        oneof value { uint32 int_value = 10; uint64 long_value = 11; float float_value = 12;
                      double double_value = 13; bool boolean_value = 14; string string_value = 15;
                      bytes bytes_value = 16; }
      }
      optional uint64 timestamp = 1;  repeated Metric metrics = 2;  optional uint64 seq = 3;
      optional string uuid = 4;  optional bytes body = 5;
    }
"""

from __future__ import annotations

from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

_F = descriptor_pb2.FieldDescriptorProto
_OPTIONAL, _REPEATED = _F.LABEL_OPTIONAL, _F.LABEL_REPEATED

# DataType enum of the .proto (the scalar ones the edge reads)
INT8, INT16, INT32, INT64 = 1, 2, 3, 4
UINT8, UINT16, UINT32, UINT64 = 5, 6, 7, 8
FLOAT, DOUBLE, BOOLEAN, STRING, DATETIME, TEXT = 9, 10, 11, 12, 13, 14


def _build() -> tuple[Any, Any]:
    proto = descriptor_pb2.FileDescriptorProto(name="pitline_sparkplug_b.proto", package="org.eclipse.tahu.protobuf",
                                               syntax="proto2")
    payload = proto.message_type.add(name="Payload")
    metric = payload.nested_type.add(name="Metric")
    metric.oneof_decl.add(name="value")
    for name, number, kind in [("name", 1, _F.TYPE_STRING), ("alias", 2, _F.TYPE_UINT64),
                               ("timestamp", 3, _F.TYPE_UINT64), ("datatype", 4, _F.TYPE_UINT32),
                               ("is_historical", 5, _F.TYPE_BOOL), ("is_transient", 6, _F.TYPE_BOOL),
                               ("is_null", 7, _F.TYPE_BOOL)]:
        metric.field.add(name=name, number=number, type=kind, label=_OPTIONAL)
    for name, number, kind in [("int_value", 10, _F.TYPE_UINT32), ("long_value", 11, _F.TYPE_UINT64),
                               ("float_value", 12, _F.TYPE_FLOAT), ("double_value", 13, _F.TYPE_DOUBLE),
                               ("boolean_value", 14, _F.TYPE_BOOL), ("string_value", 15, _F.TYPE_STRING),
                               ("bytes_value", 16, _F.TYPE_BYTES)]:
        metric.field.add(name=name, number=number, type=kind, label=_OPTIONAL, oneof_index=0)
    for name, number, kind in [("timestamp", 1, _F.TYPE_UINT64), ("seq", 3, _F.TYPE_UINT64),
                               ("uuid", 4, _F.TYPE_STRING), ("body", 5, _F.TYPE_BYTES)]:
        payload.field.add(name=name, number=number, type=kind, label=_OPTIONAL)
    payload.field.add(name="metrics", number=2, type=_F.TYPE_MESSAGE, label=_REPEATED,
                      type_name=".org.eclipse.tahu.protobuf.Payload.Metric")
    pool = descriptor_pool.DescriptorPool()  # our own pool: never clashes with another copy of the schema
    pool.Add(proto)
    descriptor = pool.FindMessageTypeByName("org.eclipse.tahu.protobuf.Payload")
    return message_factory.GetMessageClass(descriptor), message_factory.GetMessageClass(
        descriptor.nested_types_by_name["Metric"])


Payload, Metric = _build()
