# Sources of core/capture: the capture format, writer, reader, checkpoints, replay, import/export, commands.
target_sources(deltascope_core PRIVATE
    ${CMAKE_CURRENT_LIST_DIR}/captureformat.h
    ${CMAKE_CURRENT_LIST_DIR}/captureformat.cpp
    ${CMAKE_CURRENT_LIST_DIR}/capturewriter.h
    ${CMAKE_CURRENT_LIST_DIR}/capturewriter.cpp
)
