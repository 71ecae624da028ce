"""Describes a server through grpcio-reflection's ProtoReflectionDescriptorDatabase (which
speaks grpc.reflection.v1alpha), for tests/interop/tests/reflection.rs.

Usage: reflection_client.py HOST:PORT

Prints one line per fact, for the Rust test to check:
  service NAME
  method FULL_NAME INPUT_TYPE OUTPUT_TYPE OPTIONS_BYTES   (types resolved through a pool)
  unresolved SERVICE REASON
  extensions TYPE N...                                    (FindAllExtensionNumbers)
  extension TYPE N FILE                                   (file_containing_extension, sent
                                                          with the library's stub: the
                                                          database's own lookup is a stub)
  extension-symbol NAME TYPE N FILE                       (an extension found by name)
"""

import sys

import grpc
from google.protobuf import descriptor_pool
from google.protobuf.descriptor_pb2 import FileDescriptorProto
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)


def main() -> int:
    target = sys.argv[1]
    with grpc.insecure_channel(target) as channel:
        database = ProtoReflectionDescriptorDatabase(channel)
        pool = descriptor_pool.DescriptorPool(database)
        for name in sorted(database.get_services()):
            print(f"service {name}")
            try:
                service = pool.FindServiceByName(name)
            except KeyError as error:
                print(f"unresolved {name} {error!r}")
                continue
            for method in service.methods:
                # Resolving both message types makes the pool fetch every file they need.
                inputs = pool.FindMessageTypeByName(method.input_type.full_name)
                outputs = pool.FindMessageTypeByName(method.output_type.full_name)
                options = len(method.GetOptions().SerializeToString())
                print(f"method {method.full_name} {inputs.full_name} {outputs.full_name} {options}")
        numbers = sorted(database.FindAllExtensionNumbers("google.protobuf.MethodOptions"))
        print("extensions google.protobuf.MethodOptions " + " ".join(str(n) for n in numbers))
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        for number in (1049, 72295728):
            request = reflection_pb2.ServerReflectionRequest(
                file_containing_extension=reflection_pb2.ExtensionRequest(
                    containing_type="google.protobuf.MethodOptions",
                    extension_number=number,
                )
            )
            (response,) = stub.ServerReflectionInfo(iter([request]))
            files = response.file_descriptor_response.file_descriptor_proto
            name = FileDescriptorProto.FromString(files[0]).name if files else "-"
            print(f"extension google.protobuf.MethodOptions {number} {name}")
        http = pool.FindExtensionByName("google.api.http")
        print(
            f"extension-symbol {http.full_name} {http.containing_type.full_name} "
            f"{http.number} {http.file.name}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
