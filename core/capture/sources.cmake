# Sources of core/capture: the capture format, writer, reader, checkpoints, replay, import/export, commands.
target_sources(deltascope_core PRIVATE
    ${CMAKE_CURRENT_LIST_DIR}/captureformat.h
    ${CMAKE_CURRENT_LIST_DIR}/captureformat.cpp
    ${CMAKE_CURRENT_LIST_DIR}/capturewriter.h
    ${CMAKE_CURRENT_LIST_DIR}/capturewriter.cpp
    ${CMAKE_CURRENT_LIST_DIR}/capturereader.h
    ${CMAKE_CURRENT_LIST_DIR}/capturereader.cpp
    ${CMAKE_CURRENT_LIST_DIR}/zstdreaddevice.h
    ${CMAKE_CURRENT_LIST_DIR}/zstdreaddevice.cpp
    ${CMAKE_CURRENT_LIST_DIR}/capturecheckpoints.h
    ${CMAKE_CURRENT_LIST_DIR}/capturecheckpoints.cpp
    ${CMAKE_CURRENT_LIST_DIR}/replaysession.h
    ${CMAKE_CURRENT_LIST_DIR}/replaysession.cpp
    ${CMAKE_CURRENT_LIST_DIR}/captureexport.h
    ${CMAKE_CURRENT_LIST_DIR}/captureexport.cpp
    ${CMAKE_CURRENT_LIST_DIR}/harimport.h
    ${CMAKE_CURRENT_LIST_DIR}/harimport.cpp
    ${CMAKE_CURRENT_LIST_DIR}/replayagainst.h
    ${CMAKE_CURRENT_LIST_DIR}/replayagainst.cpp
    ${CMAKE_CURRENT_LIST_DIR}/capturecommands.h
    ${CMAKE_CURRENT_LIST_DIR}/capturecommands.cpp
)
