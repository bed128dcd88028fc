"""The settle probe that every browser wait reads (collab_core.bench.harness) parses Streamlit's WebSocket messages
by their protobuf field numbers, written out in the harness: they are the installed Streamlit's."""
from collab_core.bench.harness import FIELDS


def test_the_probes_field_numbers_are_the_installed_streamlits():
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ClientState_pb2 import ClientState
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg, ForwardMsgMetadata

    def number(message, name):
        return message.DESCRIPTOR.fields_by_name[name].number

    run = ForwardMsgMetadata.DESCRIPTOR.fields_by_name["run"].message_type
    installed = {
        "rerun": number(BackMsg, "rerun_script"), "fragment": number(ClientState, "fragment_id"),
        "auto": number(ClientState, "is_auto_rerun"),
        "asks": [number(BackMsg, "file_urls_request"), number(BackMsg, "backend_operation_request")],
        "answers": [number(ForwardMsg, "file_urls_response"), number(ForwardMsg, "backend_operation_response")],
        "metadata": number(ForwardMsg, "metadata"), "run": number(ForwardMsgMetadata, "run"),
        "runId": run.fields_by_name["script_run_id"].number, "fragments": run.fields_by_name["fragment_ids"].number,
        "newSession": number(ForwardMsg, "new_session"), "finished": number(ForwardMsg, "script_finished"),
        "early": ForwardMsg.FINISHED_EARLY_FOR_RERUN,
    }
    assert installed == FIELDS
