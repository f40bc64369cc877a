# Sources of core/document: the typed document tree, the delta fold, the encoder and the diff.

# The engine (fold, encoder, diff, snapshots): compiled apart from the rest of the core, so that
# pgo.cmake can build it twice, once to count where a training run spends its time and once to lay
# it out for that.
set(DELTASCOPE_DOCUMENT_ENGINE_SOURCES
    ${CMAKE_CURRENT_LIST_DIR}/documenttree.cpp
    ${CMAKE_CURRENT_LIST_DIR}/documentstorage.cpp
    ${CMAKE_CURRENT_LIST_DIR}/documentencode.cpp
    ${CMAKE_CURRENT_LIST_DIR}/mutator.cpp
    ${CMAKE_CURRENT_LIST_DIR}/referencethrow.cpp
    ${CMAKE_CURRENT_LIST_DIR}/javascriptvalues.cpp
    ${CMAKE_CURRENT_LIST_DIR}/jsonerror.cpp
    ${CMAKE_CURRENT_LIST_DIR}/jsontape.cpp
)

target_sources(deltascope_core PRIVATE
    ${CMAKE_CURRENT_LIST_DIR}/documenttree.h
    ${CMAKE_CURRENT_LIST_DIR}/documenttree_p.h
    ${CMAKE_CURRENT_LIST_DIR}/mutator.h
    ${CMAKE_CURRENT_LIST_DIR}/javascriptvalues.h
    ${CMAKE_CURRENT_LIST_DIR}/jsonerror.h
    ${CMAKE_CURRENT_LIST_DIR}/jsontape.h
    ${CMAKE_CURRENT_LIST_DIR}/foldcommand.h
    ${CMAKE_CURRENT_LIST_DIR}/foldcommand.cpp
)

# The fold's merge loops (mergeList, mergeMember) are large functions that call small inline helpers
# on every element (Data::w(), addTouched(), simdjson's element accessors). This file inlines so much
# that GCC's default limit on the unit's growth (40%) leaves those calls out of line; 100% lets them
# in, for about 7% more code here and 1.3% fewer instructions per folded delta.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    set_source_files_properties(${CMAKE_CURRENT_LIST_DIR}/mutator.cpp PROPERTIES COMPILE_OPTIONS "--param=inline-unit-growth=100")
endif()

include(${CMAKE_CURRENT_LIST_DIR}/pgo.cmake)
