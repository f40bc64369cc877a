target_sources(deltascope_core PRIVATE
    ${CMAKE_CURRENT_LIST_DIR}/cli.h
    ${CMAKE_CURRENT_LIST_DIR}/cli.cpp
    ${CMAKE_CURRENT_LIST_DIR}/commands.h
    ${CMAKE_CURRENT_LIST_DIR}/commands.cpp
    ${CMAKE_CURRENT_LIST_DIR}/outputfile.h
    ${CMAKE_CURRENT_LIST_DIR}/outputfile.cpp
)
